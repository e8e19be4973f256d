package hostagent

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/portfwd"
)

// nopOpener opens nothing and records what is open.
type nopOpener struct {
	mu   sync.Mutex
	open map[string]bool
}

type closer func() error

func (c closer) Close() error { return c() }

func (o *nopOpener) Open(f portfwd.Forward) (io.Closer, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.open[f.Key()] = true
	return closer(func() error { o.mu.Lock(); delete(o.open, f.Key()); o.mu.Unlock(); return nil }), nil
}

func (o *nopOpener) keys() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var ks []string
	for k := range o.open {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func testPorts() (*ports, *nopOpener) {
	o := &nopOpener{open: map[string]bool{}}
	p := &ports{
		log: slog.New(slog.DiscardHandler), rec: portfwd.NewReconciler(o, nil),
		asked: map[string]engine.Container{}, early: map[string]earlyForward{},
		toLearn: map[string]bool{}, learn: make(chan struct{}, 1), kick: make(chan struct{}, 1),
	}
	return p, o
}

func TestAskedPorts(t *testing.T) {
	ins := engine.Container{ID: "c1", Name: "web", Ports: []engine.Port{
		{HostPort: 8080, ContainerPort: 80, Proto: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 8081, ContainerPort: 80, Proto: "tcp"},
		{HostIP: "::1", HostPort: 5353, ContainerPort: 53, Proto: "udp"},
		{ContainerPort: 443, Proto: "tcp"},  // -p 443: the engine picks
		{ContainerPort: 9000, Proto: "tcp"}, // a host range
		{HostPort: 7, ContainerPort: 7, Proto: "sctp"},
	}}
	c := asked(ins)
	var got []string
	for _, pp := range c.Ports {
		got = append(got, fmt.Sprintf("%s %s %d->%d", pp.HostIP, pp.Proto, pp.HostPort, pp.ContainerPort))
	}
	slices.Sort(got)
	want := []string{"0.0.0.0 tcp 8080->80", "127.0.0.1 tcp 8081->80", "::1 udp 5353->53"}
	if c.ID != "c1" || c.Name != "web" || !slices.Equal(got, want) {
		t.Fatalf("asked = %s %s %q, want %q (ports left to the engine and sctp skipped)", c.ID, c.Name, got, want)
	}
}

// TestEarlyForwardLifecycle: a start opens the asked ports at once; a list
// made before the start does not close them; a list made after it is the
// authority.
func TestEarlyForwardLifecycle(t *testing.T) {
	p, o := testPorts()
	c := engine.Container{ID: "c1", Name: "web", Ports: []engine.Port{{HostIP: "127.0.0.1", ContainerPort: 80, HostPort: 8080, Proto: "tcp"}}}
	p.asked["c1"] = c
	start := engine.Event{Type: "container", Action: "start", ID: "c1"}

	p.mu.Lock()
	before := p.seq // a list that started before the event
	p.mu.Unlock()
	if !p.onEvent(start) {
		t.Fatal("a start must ask for a list")
	}
	want := []string{"tcp 127.0.0.1:8080", "tcp [::1]:8080"}
	if got := o.keys(); !slices.Equal(got, want) {
		t.Fatalf("after start: %q, want %q", got, want)
	}
	// The older list (without c1) arrives: the early forward stays.
	p.mu.Lock()
	p.containers = nil
	p.settleEarly(before)
	p.mu.Unlock()
	p.apply()
	if got := o.keys(); !slices.Equal(got, want) {
		t.Fatalf("an older list closed the early forward: %q", got)
	}
	// A list made after the start, without c1 (it died at once): closed.
	p.mu.Lock()
	after := p.seq
	p.containers = nil
	p.settleEarly(after)
	p.mu.Unlock()
	p.apply()
	if got := o.keys(); len(got) != 0 {
		t.Fatalf("the list did not close the early forward: %q", got)
	}
	// An unknown container's start is learnt for next time, not opened.
	other := engine.Event{Type: "container", Action: "start", ID: "c2"}
	p.onEvent(other)
	if got := o.keys(); len(got) != 0 || !p.toLearn["c2"] {
		t.Fatalf("unknown start: open %q, to learn %v", got, p.toLearn)
	}
	// destroy forgets.
	destroy := engine.Event{Type: "container", Action: "destroy", ID: "c1"}
	p.onEvent(destroy)
	if _, ok := p.asked["c1"]; ok {
		t.Fatal("destroy kept the container's ports")
	}
	// create asks for no list.
	create := engine.Event{Type: "container", Action: "create", ID: "c3"}
	if p.onEvent(create) || !p.toLearn["c3"] {
		t.Fatal("create: a list, or not learnt")
	}
	// A network's create is not a container's.
	netCreate := engine.Event{Type: "network", Action: "create", ID: "n1"}
	if !p.onEvent(netCreate) || p.toLearn["n1"] {
		t.Fatal("a network event: no list, or learnt as a container")
	}
}
