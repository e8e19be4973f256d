package hostagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/hostagent/bridge"
	"github.com/berth-dev/berth/hostagent/vnet"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/portfwd"
	"github.com/berth-dev/berth/store"
)

// How the agent keeps the forwards in line with the guest.
const (
	listenerPoll   = time.Second      // guest listening sockets
	retryPeriod    = time.Second      // failed forwards (a host port in use)
	fullResync     = 15 * time.Second // the container list, even when the event stream looks healthy
	eventsBackoff  = 500 * time.Millisecond
	dockerCallTTL  = 10 * time.Second
	guestPollTTL   = 3 * time.Second
	portsStopGrace = 5 * time.Second
)

// ports drives portfwd for the running machine: it follows the engine's
// container events (resyncing from a full list on every connect), polls the
// guest's listening sockets, holds the manual forwards, and reconciles.
type ports struct {
	log        *slog.Logger
	opts       portfwd.Options
	rec        *portfwd.Reconciler
	docker     *engine.Client // through the virtual network
	guest      *agentapi.Client
	manualPath string

	mu         sync.Mutex
	containers []engine.Container
	listeners  []portfwd.Listener
	manual     []portfwd.Spec
	paused     pausedPorts
	// Early forwards (ports_early.go): fixed host ports by container ID,
	// learnt at create; the started ones open ahead of the list.
	asked   map[string]engine.Container
	early   map[string]earlyForward
	seq     uint64
	toLearn map[string]bool
	learn   chan struct{}

	applyMu sync.Mutex // one reconcile at a time
	kick    chan struct{}

	// saver, when on, is told how many containers run; the polls and
	// resyncs hold it and are skipped while the VM is paused.
	saver *saver
	// resync asks for a container list: after a resume.
	resyncNow chan struct{}
}

// startPorts starts forwarding; the returned function stops it and closes
// every forward.
func (a *Agent) startPorts(network *vnet.Network) (func(), error) {
	docker, err := engine.New(func(ctx context.Context) (net.Conn, error) {
		return network.DialGuest(ctx, guestconfig.DockerPort)
	})
	if err != nil {
		return nil, err
	}
	p := &ports{
		log:        a.log.With("component", "ports"),
		opts:       a.o.Ports,
		docker:     docker,
		guest:      a.guest,
		manualPath: a.o.Machine.Path(store.ForwardsFile),
		kick:       make(chan struct{}, 1),
		asked:      map[string]engine.Container{},
		early:      map[string]earlyForward{},
		toLearn:    map[string]bool{},
		learn:      make(chan struct{}, 1),
		saver:      a.resourceSaver(),
		resyncNow:  make(chan struct{}, 1),
	}
	p.paused.emit = a.pauseEmitter()
	manual, err := portfwd.LoadManual(p.manualPath)
	if err != nil {
		// A bad entry is reported and skipped; the good ones still forward.
		p.log.Warn("manual forwards", "err", err)
	}
	p.manual = manual
	p.rec = portfwd.NewReconciler(&portfwd.Forwarders{Net: guestNet{network, a.guest, a.waker()}, Log: p.log}, func(f portfwd.Forward) {
		p.log.Info("forward", "key", f.Key(), "target", f.GuestAddr(), "state", f.State, "source", f.Source,
			"container", f.Container, "reason", f.Reason)
		a.hub.Publish(api.Event{Time: time.Now(), Type: "forward", Forward: &f})
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){p.followEngine, p.pollGuest, p.reconcileLoop} {
		wg.Add(1)
		go func() { defer wg.Done(); loop(ctx) }()
	}
	a.mu.Lock()
	a.ports = p
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		a.ports = nil
		a.mu.Unlock()
		cancel()
		wg.Wait()
		p.rec.Close()
		_ = p.docker.Close()
	}, nil
}

// guestNet is the virtual network, with the guest's own loopback
// addresses reached through the guest agent. With a waker (the resource
// saver), each forwarded connection resumes a paused VM before it is
// dialled and keeps it awake until it closes.
type guestNet struct {
	*vnet.Network
	guest *agentapi.Client
	waker bridge.Waker
}

func (g guestNet) DialTCP(ctx context.Context, addr string) (net.Conn, error) {
	return g.awake(ctx, func() (net.Conn, error) {
		if ap, err := netip.ParseAddrPort(addr); err == nil && ap.Addr().IsLoopback() {
			return g.guest.Connect(ctx, addr)
		}
		return g.Network.DialTCP(ctx, addr)
	})
}

// DialUDPStream implements portfwd.DatagramDialer for the guest's loopback:
// a new UDP client resumes the VM as a TCP connection does. (UDP to the
// guest's address goes through the network's own forwarder, which says
// nothing of new clients: it does not resume a paused VM.)
func (g guestNet) DialUDPStream(ctx context.Context, addr string) (net.Conn, error) {
	return g.awake(ctx, func() (net.Conn, error) { return g.guest.ConnectUDP(ctx, addr) })
}

func (g guestNet) awake(ctx context.Context, dial func() (net.Conn, error)) (net.Conn, error) {
	if g.waker == nil {
		return dial()
	}
	if err := g.waker.Wake(ctx); err != nil {
		return nil, fmt.Errorf("resuming the VM: %w", err)
	}
	done := g.waker.Busy()
	c, err := dial()
	if err != nil {
		done()
		return nil, err
	}
	return busyConn(c, done), nil
}

// busyConn calls done when c closes, keeping c's half-close.
func busyConn(c net.Conn, done func()) net.Conn {
	var once sync.Once
	// Pointers: the relay keeps its connections in a map.
	b := busy{Conn: c, done: func() { once.Do(done) }}
	if _, ok := c.(interface{ CloseWrite() error }); ok {
		return &busyHalf{b}
	}
	return &b
}

type busy struct {
	net.Conn
	done func()
}

func (b *busy) Close() error {
	b.done()
	return b.Conn.Close()
}

type busyHalf struct{ busy }

func (b *busyHalf) CloseWrite() error {
	return b.Conn.(interface{ CloseWrite() error }).CloseWrite()
}

func (p *ports) trigger() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *ports) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(retryPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
			p.apply()
		case <-t.C:
			if p.rec.Failed() {
				p.apply()
			}
		}
	}
}

func (p *ports) apply() {
	p.applyMu.Lock()
	defer p.applyMu.Unlock()
	defer p.paused.flush() // after the listeners closed
	p.mu.Lock()
	in := portfwd.Inputs{Containers: p.withEarly(), Listeners: p.listeners, Manual: p.manual}
	p.mu.Unlock()
	p.rec.Apply(p.paused.hold(portfwd.Desired(in, p.opts)))
}

// followEngine follows container events; every (re)connection starts with
// a full list, so an event lost while the stream was down (or the engine
// restarting) cannot leave a stale or missing forward.
func (p *ports) followEngine(ctx context.Context) {
	for ctx.Err() == nil {
		err := p.streamEvents(ctx)
		if ctx.Err() != nil {
			return
		}
		p.log.Info("engine event stream ended; resyncing", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(eventsBackoff):
		}
	}
}

func (p *ports) streamEvents(ctx context.Context) error {
	// A network (dis)connect of a running container can add or drop its
	// published ports.
	stream, err := p.docker.Events(ctx, engine.EventFilter{
		Types:   []string{"container", "network"},
		Actions: []string{"create", "start", "die", "stop", "destroy", "kill", "pause", "unpause", "connect", "disconnect"},
	})
	if err != nil {
		return err
	}
	defer stream.Close()
	// Subscribed: a change from now on is an event, so the list is exact.
	if err := p.resync(ctx); err != nil {
		return err
	}
	// Events only ask for a list; the asks that come while one is being
	// made fold into the next. A container's start is then never queued
	// behind the lists of events already handled (a stop sends kill, die
	// and stop in a row).
	events, changed := make(chan error, 1), make(chan struct{}, 1)
	go func() {
		for {
			ev, err := stream.Next()
			if err != nil {
				events <- err
				return
			}
			if !p.onEvent(ev) {
				continue
			}
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}()
	t := time.NewTicker(fullResync)
	defer t.Stop()
	for {
		select {
		case err := <-events:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
			if err := p.heldResync(ctx); err != nil {
				p.log.Warn("listing containers after an event", "err", err)
			}
		case <-p.resyncNow:
			if err := p.heldResync(ctx); err != nil {
				p.log.Warn("listing containers after a resume", "err", err)
			}
		case <-p.learn:
			p.learnQueued(ctx)
		case <-t.C:
			if err := p.heldResync(ctx); err != nil {
				stream.Close()
				if serr := <-events; serr != nil {
					p.log.Debug("event stream closed for a resync", "err", serr)
				}
				return err
			}
		}
	}
}

// heldResync resyncs unless the resource saver has the VM paused (the
// resume asks again): a list must neither wake it nor hang on it.
func (p *ports) heldResync(ctx context.Context) error {
	release, ok := p.saver.Hold()
	if !ok {
		return nil
	}
	defer release()
	return p.resync(ctx)
}

// resyncSoon asks for a container list.
func (p *ports) resyncSoon() {
	select {
	case p.resyncNow <- struct{}{}:
	default:
	}
}

// resync replaces the container list with the engine's and reconciles.
func (p *ports) resync(ctx context.Context) error {
	p.mu.Lock()
	seq := p.seq // the list covers every early forward opened so far
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, dockerCallTTL)
	defer cancel()
	cs, err := p.docker.Containers(ctx)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.containers = cs
	p.settleEarly(seq)
	p.mu.Unlock()
	p.saver.SetRunning(runningContainers(cs))
	p.apply()
	return nil
}

// runningContainers counts the containers that keep the VM from being
// paused: running ones, and those on their way (restarting) or paused by
// docker (their processes stay).
func runningContainers(cs []engine.Container) int {
	n := 0
	for _, c := range cs {
		switch c.State {
		case "running", "restarting", "paused":
			n++
		}
	}
	return n
}

// pollGuest reads the guest's listening sockets every second.
func (p *ports) pollGuest(ctx context.Context) {
	t := time.NewTicker(listenerPoll)
	defer t.Stop()
	for {
		release, awake := p.saver.Hold()
		var ls []agentapi.Listener
		err := errPaused
		if awake {
			cctx, cancel := context.WithTimeout(ctx, guestPollTTL)
			ls, err = p.guest.Listeners(cctx)
			cancel()
			release()
		}
		if err == nil {
			conv := make([]portfwd.Listener, 0, len(ls))
			for _, l := range ls {
				conv = append(conv, portfwd.Listener{Proto: portfwd.Proto(l.Proto), IP: l.IP, Port: l.Port, Process: l.Process})
			}
			p.mu.Lock()
			changed := !slices.Equal(conv, p.listeners)
			p.listeners = conv
			p.mu.Unlock()
			if changed {
				p.trigger()
			}
		} else if ctx.Err() == nil && awake {
			p.log.Debug("guest listeners", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

var errNoForward = errors.New("no such manual forward")

// errPaused: a poll skipped while the resource saver has the VM paused.
var errPaused = errors.New("the VM is paused")

// addManual saves a manual forward and opens it at once; it returns the
// host listeners the spec made.
func (p *ports) addManual(sp portfwd.Spec) ([]portfwd.Forward, error) {
	canon := sp.String()
	p.mu.Lock()
	exists := slices.ContainsFunc(p.manual, func(s portfwd.Spec) bool { return s.String() == canon })
	if !exists {
		next := append(slices.Clone(p.manual), sp)
		if err := portfwd.SaveManual(p.manualPath, next); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		p.manual = next
	}
	p.mu.Unlock()
	p.apply()
	var out []portfwd.Forward
	for _, f := range p.rec.List() {
		if f.Source == portfwd.SourceManual && f.Spec == canon {
			out = append(out, f)
		}
	}
	return out, nil
}

func (p *ports) removeManual(sp portfwd.Spec) error {
	canon := sp.String()
	p.mu.Lock()
	i := slices.IndexFunc(p.manual, func(s portfwd.Spec) bool { return s.String() == canon })
	if i < 0 {
		p.mu.Unlock()
		return fmt.Errorf("%w: %s", errNoForward, canon)
	}
	next := slices.Delete(slices.Clone(p.manual), i, i+1)
	if err := portfwd.SaveManual(p.manualPath, next); err != nil {
		p.mu.Unlock()
		return err
	}
	p.manual = next
	p.mu.Unlock()
	p.apply()
	return nil
}
