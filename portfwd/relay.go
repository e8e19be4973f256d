package portfwd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"

	"github.com/berth-dev/berth/internal/netpipe"
)

// relay accepts on a host listener and joins each connection to a new
// connection to the guest target. Closing it closes the listener and every
// connection in flight, and waits for them.
type relay struct {
	ln   net.Listener
	dial func(ctx context.Context) (net.Conn, error)
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startRelay(ln net.Listener, dial func(ctx context.Context) (net.Conn, error), log *slog.Logger) *relay {
	ctx, cancel := context.WithCancel(context.Background())
	r := &relay{ln: ln, dial: dial, log: log, ctx: ctx, cancel: cancel, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	go r.serve()
	return r
}

func (r *relay) serve() {
	defer close(r.done)
	for {
		c, err := r.ln.Accept()
		if err != nil {
			if r.ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				r.log.Warn("port forward stopped accepting", "err", err)
			}
			return
		}
		if !r.track(c, true) {
			c.Close()
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.handle(c)
		}()
	}
}

// track adds or removes a connection; adding fails once the relay closes.
func (r *relay) track(c net.Conn, add bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !add {
		delete(r.conns, c)
		return true
	}
	if r.conns == nil {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *relay) handle(client net.Conn) {
	defer r.track(client, false)
	defer client.Close()
	ctx, cancel := context.WithTimeout(r.ctx, dialTimeout)
	guest, err := r.dial(ctx)
	cancel()
	if err != nil {
		r.log.Debug("port forward: guest did not accept", "err", err)
		return
	}
	defer guest.Close()
	if !r.track(guest, true) {
		return
	}
	defer r.track(guest, false)
	netpipe.Pipe(client, guest)
}

// Close stops the relay.
func (r *relay) Close() error {
	r.cancel()
	err := r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.conns = nil
	r.mu.Unlock()
	<-r.done
	r.wg.Wait()
	return err
}
