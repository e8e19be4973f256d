package hostagent

import (
	"context"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/portfwd"
)

// Early forwards: a container's start event opens the host ports it asked
// for by number when it was created, before the engine's container list
// confirms them. The list is a round trip to a guest that may be busy
// (under emulation tens to hundreds of milliseconds), while the start event
// already names the container, and the engine sends it once the container
// runs with its ports published. The next list is the authority: it keeps,
// corrects or closes what opened early.

// earlyForward is a started container's ports, open ahead of the list.
type earlyForward struct {
	c   engine.Container
	seq uint64 // when it was opened; a list started later supersedes it
}

// onEvent handles an event at once, on the stream's goroutine; it returns
// whether the event calls for a new container list.
func (p *ports) onEvent(ev engine.Event) (relist bool) {
	if ev.Type != "container" {
		return true // a network (dis)connect
	}
	id := ev.ID
	switch ev.Action {
	case "create":
		p.learnLater(id)
		return false
	case "start":
		p.mu.Lock()
		c, ok := p.asked[id]
		if ok {
			p.seq++
			p.early[id] = earlyForward{c: c, seq: p.seq}
		}
		p.mu.Unlock()
		if ok {
			p.apply()
		} else {
			p.learnLater(id) // for its next start
		}
	case "destroy":
		p.mu.Lock()
		delete(p.asked, id)
		delete(p.early, id)
		p.mu.Unlock()
	}
	return true
}

// learnLater queues a container whose fixed host ports are to be learnt.
func (p *ports) learnLater(id string) {
	p.mu.Lock()
	p.toLearn[id] = true
	p.mu.Unlock()
	select {
	case p.learn <- struct{}{}:
	default:
	}
}

// learnQueued inspects the queued containers and remembers their fixed
// host ports; it runs off the event path.
func (p *ports) learnQueued(ctx context.Context) {
	p.mu.Lock()
	ids := make([]string, 0, len(p.toLearn))
	for id := range p.toLearn {
		ids = append(ids, id)
	}
	clear(p.toLearn)
	p.mu.Unlock()
	for _, id := range ids {
		c, err := p.inspectPorts(ctx, id)
		if err != nil {
			p.log.Debug("learning a container's ports", "id", id, "err", err)
			continue
		}
		p.mu.Lock()
		if len(c.Ports) > 0 {
			p.asked[id] = c
		}
		p.mu.Unlock()
	}
}

// inspectPorts reads the host ports a container asked for.
func (p *ports) inspectPorts(ctx context.Context, id string) (engine.Container, error) {
	ctx, cancel := context.WithTimeout(ctx, dockerCallTTL)
	defer cancel()
	c, err := p.docker.Inspect(ctx, id)
	if err != nil {
		return engine.Container{}, err
	}
	return asked(c), nil
}

// asked keeps the bindings with a fixed host port, as the engine's list
// shows them once published; a port left to the engine (`-p 80`, `-P`, a
// host range) is known from the list only.
func asked(c engine.Container) engine.Container {
	var ports []engine.Port
	for _, b := range c.Ports {
		if b.HostPort <= 0 || (b.Proto != string(portfwd.TCP) && b.Proto != string(portfwd.UDP)) {
			continue
		}
		if b.HostIP == "" {
			b.HostIP = "0.0.0.0"
		}
		ports = append(ports, b)
	}
	c.Ports = ports
	return c
}

// withEarly is the container list plus the early forwards it does not
// hold yet. Called with p.mu held.
func (p *ports) withEarly() []engine.Container {
	if len(p.early) == 0 {
		return p.containers
	}
	out := append([]engine.Container(nil), p.containers...)
	for id, e := range p.early {
		listed := false
		for _, c := range p.containers {
			if c.ID == id {
				listed = true
				break
			}
		}
		if !listed {
			out = append(out, e.c)
		}
	}
	return out
}

// settleEarly drops the early forwards that a list started at seq covers.
// Called with p.mu held.
func (p *ports) settleEarly(seq uint64) {
	for id, e := range p.early {
		if e.seq <= seq {
			delete(p.early, id)
		}
	}
}
