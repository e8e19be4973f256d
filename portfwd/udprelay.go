package portfwd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/berth-dev/berth/guest/agentapi"
)

// DatagramDialer is a GuestNet that can also open a datagram stream to a
// guest address the virtual network cannot reach (the guest's own IPv6
// loopback): each datagram framed by agentapi.WriteDatagram.
type DatagramDialer interface {
	DialUDPStream(ctx context.Context, addr string) (net.Conn, error)
}

// udpIdle ends a client's session after this long without a datagram
// either way, as NATs do.
const udpIdle = 90 * time.Second

// udpRelay serves a host UDP socket over datagram streams, one per client
// address. Closing it closes the socket and every stream, and waits.
type udpRelay struct {
	pc   net.PacketConn
	dial func(ctx context.Context) (net.Conn, error)
	log  *slog.Logger
	idle time.Duration

	mu       sync.Mutex
	sessions map[string]*udpSession
	closed   bool
	wg       sync.WaitGroup
	done     chan struct{}
}

type udpSession struct {
	stream net.Conn
	mu     sync.Mutex
	last   time.Time
}

func (s *udpSession) touch() {
	s.mu.Lock()
	s.last = time.Now()
	s.mu.Unlock()
}

func (s *udpSession) idleSince(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Sub(s.last)
}

func startUDPRelay(pc net.PacketConn, dial func(ctx context.Context) (net.Conn, error), idle time.Duration, log *slog.Logger) *udpRelay {
	r := &udpRelay{pc: pc, dial: dial, log: log, idle: idle, sessions: map[string]*udpSession{}, done: make(chan struct{})}
	r.wg.Add(2)
	go func() { defer r.wg.Done(); r.serve() }()
	go func() { defer r.wg.Done(); r.reap() }()
	return r
}

func (r *udpRelay) serve() {
	buf := make([]byte, 65535)
	for {
		n, from, err := r.pc.ReadFrom(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				r.log.Warn("UDP forward stopped reading", "err", err)
			}
			return
		}
		s := r.session(from)
		if s == nil {
			continue // the guest refused: the datagram is dropped, as UDP allows
		}
		s.touch()
		if err := agentapi.WriteDatagram(s.stream, buf[:n]); err != nil {
			r.end(from.String(), s)
		}
	}
}

// session returns the client's session, opening its stream if needed.
func (r *udpRelay) session(from net.Addr) *udpSession {
	key := from.String()
	r.mu.Lock()
	s := r.sessions[key]
	r.mu.Unlock()
	if s != nil {
		return s
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	stream, err := r.dial(ctx)
	cancel()
	if err != nil {
		r.log.Debug("UDP forward: guest side", "client", key, "err", err)
		return nil
	}
	s = &udpSession{stream: stream, last: time.Now()}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		stream.Close()
		return nil
	}
	r.sessions[key] = s
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		r.answers(from, s)
	}()
	return s
}

// answers sends the guest's datagrams back to the client.
func (r *udpRelay) answers(to net.Addr, s *udpSession) {
	buf := make([]byte, 65535)
	for {
		n, err := agentapi.ReadDatagram(s.stream, buf)
		if err != nil {
			r.end(to.String(), s)
			return
		}
		s.touch()
		if _, err := r.pc.WriteTo(buf[:n], to); err != nil && errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

func (r *udpRelay) end(key string, s *udpSession) {
	r.mu.Lock()
	if r.sessions[key] == s {
		delete(r.sessions, key)
	}
	r.mu.Unlock()
	s.stream.Close()
}

// reap ends sessions idle for too long.
func (r *udpRelay) reap() {
	t := time.NewTicker(r.idle / 4)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case now := <-t.C:
			r.mu.Lock()
			var idle []string
			for k, s := range r.sessions {
				if s.idleSince(now) > r.idle {
					idle = append(idle, k)
				}
			}
			r.mu.Unlock()
			for _, k := range idle {
				r.mu.Lock()
				s := r.sessions[k]
				r.mu.Unlock()
				if s != nil {
					r.end(k, s)
				}
			}
		}
	}
}

// Close stops the forward: the socket, every session, then waits.
func (r *udpRelay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	sessions := r.sessions
	r.sessions = map[string]*udpSession{}
	r.mu.Unlock()
	close(r.done)
	err := r.pc.Close()
	for _, s := range sessions {
		s.stream.Close()
	}
	r.wg.Wait()
	return err
}
