package hostagent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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
	c   portfwd.Container
	seq uint64 // when it was opened; a list started later supersedes it
}

// dockerEvent is what the agent reads of an engine event.
type dockerEvent struct {
	Type   string `json:"Type"`
	Action string `json:"Action"`
	Actor  struct {
		ID string `json:"ID"`
	} `json:"Actor"`
}

// onEvent handles an event at once, on the stream's goroutine; it returns
// whether the event calls for a new container list.
func (p *ports) onEvent(ev dockerEvent) (relist bool) {
	if ev.Type != "container" {
		return true // a network (dis)connect
	}
	id := ev.Actor.ID
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
func (p *ports) inspectPorts(ctx context.Context, id string) (portfwd.Container, error) {
	ctx, cancel := context.WithTimeout(ctx, dockerCallTTL)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/containers/"+url.PathEscape(id)+"/json", nil)
	if err != nil {
		return portfwd.Container{}, err
	}
	resp, err := p.docker.Do(req)
	if err != nil {
		return portfwd.Container{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return portfwd.Container{}, fmt.Errorf("GET /containers/%s/json: %s", id, resp.Status)
	}
	var ins containerInspect
	if err := json.NewDecoder(resp.Body).Decode(&ins); err != nil {
		return portfwd.Container{}, fmt.Errorf("GET /containers/%s/json: %w", id, err)
	}
	return ins.asked(), nil
}

// containerInspect is what the agent reads of a container's inspection.
type containerInspect struct {
	ID         string `json:"Id"`
	Name       string `json:"Name"`
	HostConfig struct {
		PortBindings map[string][]struct {
			HostIP   string `json:"HostIp"`
			HostPort string `json:"HostPort"`
		} `json:"PortBindings"`
	} `json:"HostConfig"`
}

// asked lists the bindings with a fixed host port, as the engine's list
// shows them once published; a port left to the engine (`-p 80`, `-P`, a
// host range) is known from the list only.
func (ins containerInspect) asked() portfwd.Container {
	c := portfwd.Container{ID: ins.ID, Name: ins.Name}
	for key, binds := range ins.HostConfig.PortBindings {
		port, proto, _ := strings.Cut(key, "/")
		priv, err := strconv.Atoi(port)
		if err != nil || (proto != string(portfwd.TCP) && proto != string(portfwd.UDP)) {
			continue
		}
		for _, b := range binds {
			pub, err := strconv.Atoi(b.HostPort)
			if err != nil || pub <= 0 || pub > 65535 {
				continue
			}
			ip := b.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			c.Ports = append(c.Ports, portfwd.PublishedPort{IP: ip, PrivatePort: priv, PublicPort: pub, Proto: portfwd.Proto(proto)})
		}
	}
	return c
}

// withEarly is the container list plus the early forwards it does not
// hold yet. Called with p.mu held.
func (p *ports) withEarly() []portfwd.Container {
	if len(p.early) == 0 {
		return p.containers
	}
	out := append([]portfwd.Container(nil), p.containers...)
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
