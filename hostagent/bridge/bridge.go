// Package bridge carries connections from the host's docker socket to the
// engine in the guest. Responses pass as bytes; requests are read as HTTP
// only far enough to rewrite the bind sources of a container create (a
// Windows path becomes the guest path of its share; a path no share holds
// is refused with the engine's kind of error). Every other byte passes
// unchanged, so everything the docker API does — hijacked streams for
// `run -it`, `exec`, `attach`, chunked uploads for `build` and `load`, long
// polls for `events` and `logs -f` — works, with half-closes propagated in
// both directions.
package bridge

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"

	"github.com/berth-dev/berth/internal/netpipe"
)

// Dialer opens a connection to the engine.
type Dialer func(ctx context.Context) (net.Conn, error)

// Bridge serves one listener.
type Bridge struct {
	dial  Dialer
	log   *slog.Logger
	paths *Paths
	waker Waker

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// New returns a bridge that dials the engine with dial.
func New(dial Dialer, log *slog.Logger) *Bridge {
	return &Bridge{dial: dial, log: log, conns: map[net.Conn]struct{}{}}
}

// WithPaths makes the bridge check and rewrite the bind sources of
// container creates against p. Call it before Serve.
func (b *Bridge) WithPaths(p *Paths) *Bridge {
	b.paths = p
	return b
}

// Serve accepts on ln until ctx ends or ln is closed, then closes every
// connection in flight and returns once they are done.
func (b *Bridge) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { <-ctx.Done(); ln.Close() }()
	defer b.closeAll()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.handle(ctx, c)
		}()
	}
}

func (b *Bridge) track(c net.Conn, add bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if add {
		b.conns[c] = struct{}{}
	} else {
		delete(b.conns, c)
	}
}

func (b *Bridge) closeAll() {
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *Bridge) handle(ctx context.Context, client net.Conn) {
	b.track(client, true)
	defer b.track(client, false)
	defer client.Close()
	if b.waker != nil {
		if err := b.waker.Wake(ctx); err != nil {
			b.log.Warn("docker bridge: could not resume the VM", "err", err)
			return
		}
	}
	engine, err := b.dial(ctx)
	if err != nil {
		b.log.Warn("docker bridge: engine unreachable", "err", err)
		return
	}
	b.track(engine, true)
	defer b.track(engine, false)
	defer engine.Close()
	var wg sync.WaitGroup
	f := &forwarder{paths: b.paths, log: b.log}
	if b.waker == nil {
		wg.Go(func() { netpipe.CopyHalf(client, engine) })
	} else {
		t := newInflight(ctx, b.waker)
		defer t.close()
		f.inflight = t
		wg.Go(func() {
			err := t.responses(client, bufio.NewReaderSize(engine, 64<<10))
			netpipe.CloseWrite(client, engine, err)
		})
	}
	err = f.run(engine, bufio.NewReaderSize(client, 64<<10), client)
	netpipe.CloseWrite(engine, client, err)
	wg.Wait()
}

// Pipe joins two connections with half-closes passed on (see netpipe).
func Pipe(a, b net.Conn) { netpipe.Pipe(a, b) }
