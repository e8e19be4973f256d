package engineswitch

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// Router hands each connection of one listener (Docker's default pipe) to
// the engine that is current when it is accepted: to the listener of that
// engine (Listener), which that engine's bridge serves. A switch changes
// the current engine only, at once; a connection accepted before it stays
// with the engine it was given to until it ends, so a request in flight
// finishes on the engine it started on. (The docker CLI opens a connection
// per command.)
type Router struct {
	ln      net.Listener
	cur     atomic.Value // Engine
	targets map[Engine]*handoff
}

// NewRouter routes ln's connections, to initial first.
func NewRouter(ln net.Listener, initial Engine) *Router {
	r := &Router{ln: ln, targets: map[Engine]*handoff{}}
	for _, e := range []Engine{Linux, Windows} {
		r.targets[e] = &handoff{ch: make(chan net.Conn), done: make(chan struct{}), addr: ln.Addr()}
	}
	r.cur.Store(initial)
	return r
}

// Listener is what engine e's bridge serves: the connections routed to e.
func (r *Router) Listener(e Engine) net.Listener { return r.targets[e] }

// Current is the engine new connections go to.
func (r *Router) Current() Engine { return r.cur.Load().(Engine) }

// Switch makes e the engine new connections go to, and returns the one
// before.
func (r *Router) Switch(e Engine) Engine { return r.cur.Swap(e).(Engine) }

// Serve accepts until ctx ends or the listener fails, then closes the
// listener and both engines' listeners (their bridges' Serve then
// return).
func (r *Router) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { <-ctx.Done(); r.ln.Close() }()
	defer func() {
		for _, h := range r.targets {
			_ = h.Close()
		}
	}()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		h := r.targets[r.Current()]
		select {
		case h.ch <- c:
		case <-h.done:
			c.Close()
		case <-ctx.Done():
			c.Close()
			return nil
		}
	}
}

// handoff is the listener of one engine: what the router gives it.
type handoff struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.ch:
		return c, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

func (h *handoff) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

func (h *handoff) Addr() net.Addr { return h.addr }

// Server serves one listener until ctx ends: an engine's docker bridge.
type Server interface {
	Serve(ctx context.Context, ln net.Listener) error
}

// Start routes ln's connections between the engines' servers, initial
// first, until ctx ends; wg counts its goroutines (the router and both
// servers), which are done when ln and both engines' listeners are
// closed.
func Start(ctx context.Context, ln net.Listener, initial Engine, linux, windows Server, wg *sync.WaitGroup) *Router {
	r := NewRouter(ln, initial)
	wg.Go(func() { _ = r.Serve(ctx) })
	wg.Go(func() { _ = linux.Serve(ctx, r.Listener(Linux)) })
	wg.Go(func() { _ = windows.Serve(ctx, r.Listener(Windows)) })
	return r
}
