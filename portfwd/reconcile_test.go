package portfwd

import (
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
)

// fakeOpener records opens and closes; ports in busy fail to open.
type fakeOpener struct {
	mu     sync.Mutex
	busy   map[string]bool
	open   map[string]int // key -> open count
	closed []string
}

func newFakeOpener() *fakeOpener {
	return &fakeOpener{busy: map[string]bool{}, open: map[string]int{}}
}

type fakeCloser struct {
	o   *fakeOpener
	key string
}

func (c fakeCloser) Close() error {
	c.o.mu.Lock()
	defer c.o.mu.Unlock()
	c.o.open[c.key]--
	c.o.closed = append(c.o.closed, c.key)
	return nil
}

func (o *fakeOpener) Open(f Forward) (io.Closer, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.busy[f.Key()] {
		return nil, errors.New("address already in use")
	}
	o.open[f.Key()]++
	return fakeCloser{o, f.Key()}, nil
}

func fwd(port int, target int, container string) Forward {
	return Forward{Proto: TCP, HostIP: "127.0.0.1", HostPort: port, GuestIP: "192.168.127.2", GuestPort: target, Source: SourceDocker, Container: container}
}

func TestReconcilerOpensClosesAndRetries(t *testing.T) {
	o := newFakeOpener()
	var events []string
	r := NewReconciler(o, func(f Forward) { events = append(events, f.Key()+" "+string(f.State)+" "+f.Container) })

	o.busy["tcp 127.0.0.1:81"] = true
	r.Apply([]Forward{fwd(80, 80, "a"), fwd(81, 81, "b")})
	if o.open["tcp 127.0.0.1:80"] != 1 || o.open["tcp 127.0.0.1:81"] != 0 {
		t.Fatalf("opens: %v", o.open)
	}
	list := r.List()
	if len(list) != 2 || list[1].State != StateFailed || list[1].Reason != "address already in use" || !r.Failed() {
		t.Fatalf("list after conflict: %+v", list)
	}

	// Nothing changed: no reopen, no event.
	n := len(events)
	r.Apply([]Forward{fwd(80, 80, "a"), fwd(81, 81, "b")})
	if o.open["tcp 127.0.0.1:80"] != 1 || len(events) != n {
		t.Fatalf("idempotent apply reopened or reported: %v %q", o.open, events[n:])
	}

	// The port frees: the retry opens it.
	delete(o.busy, "tcp 127.0.0.1:81")
	r.Apply([]Forward{fwd(80, 80, "a"), fwd(81, 81, "b")})
	if o.open["tcp 127.0.0.1:81"] != 1 || r.Failed() {
		t.Fatalf("retry: %v", o.open)
	}

	// A new owner of the same listener and target: no reopen, one event.
	n = len(events)
	r.Apply([]Forward{fwd(80, 80, "a2"), fwd(81, 81, "b")})
	if o.open["tcp 127.0.0.1:80"] != 1 || len(events) != n+1 || events[n] != "tcp 127.0.0.1:80 active a2" {
		t.Fatalf("owner change: %v %q", o.open, events[n:])
	}

	// A new target: closed and reopened.
	r.Apply([]Forward{fwd(80, 8080, "a2"), fwd(81, 81, "b")})
	if o.open["tcp 127.0.0.1:80"] != 1 || !slices.Contains(o.closed, "tcp 127.0.0.1:80") {
		t.Fatalf("retarget: %v closed %v", o.open, o.closed)
	}

	// Removal, then Close: everything closed.
	r.Apply([]Forward{fwd(80, 8080, "a2")})
	if o.open["tcp 127.0.0.1:81"] != 0 {
		t.Fatalf("removal: %v", o.open)
	}
	r.Close()
	for k, v := range o.open {
		if v != 0 {
			t.Errorf("%s still open (%d)", k, v)
		}
	}
	if len(r.List()) != 0 {
		t.Errorf("list after close: %+v", r.List())
	}
	if last := events[len(events)-1]; last != "tcp 127.0.0.1:80 closed a2" {
		t.Errorf("last event %q", last)
	}
}

func TestReconcilerFailedRetryReportsOnlyChanges(t *testing.T) {
	o := newFakeOpener()
	o.busy["tcp 127.0.0.1:80"] = true
	var events int
	r := NewReconciler(o, func(Forward) { events++ })
	for range 5 {
		r.Apply([]Forward{fwd(80, 80, "a")})
	}
	if events != 1 {
		t.Fatalf("%d events for one unchanged failure, want 1", events)
	}
}
