package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/engine"
)

// sseWriter writes server-sent events; safe for concurrent senders.
type sseWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter
	fl http.Flusher
}

func newSSE(w http.ResponseWriter) (*sseWriter, bool) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported")
		return nil, false
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	return &sseWriter{w: w, fl: fl}, true
}

// send writes one event; data is JSON-encoded (one line: JSON escapes
// newlines in strings).
func (s *sseWriter) send(event string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, b); err != nil {
		return err
	}
	s.fl.Flush()
	return nil
}

// Retries of the streams the page follows, while it is open.
const (
	retryEvery    = time.Second
	changesSettle = 100 * time.Millisecond
	keepAlive     = 30 * time.Second
)

// events is the page's one stream: the agent's events as they come
// ("status", "forward", as /v1/events has them), "containers" when the
// engine's containers changed and "resources" when its images, volumes or
// networks did (the page lists them again), each at most every
// changesSettle. Nothing of it runs while no page is open.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	sse, ok := newSSE(w)
	if !ok {
		return
	}
	s.pages.add(1)
	defer func() {
		// The last page gone, the engine client's idle connections go
		// too: each holds a connection through the docker socket's
		// bridge into the VM.
		if s.pages.add(-1) == 0 {
			_ = s.ec.Close()
		}
	}()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ch := &changes{signal: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	wg.Go(func() { s.followAgent(ctx, sse) })
	wg.Go(func() { s.followEngine(ctx, ch) })
	defer wg.Wait()
	defer cancel()
	ka := time.NewTicker(keepAlive)
	defer ka.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch.signal:
			for _, ev := range ch.take() {
				if sse.send(ev, nil) != nil {
					return
				}
			}
			if !sleep(ctx, changesSettle) {
				return
			}
		case <-ka.C:
			if sse.send("ping", nil) != nil {
				return
			}
		}
	}
}

// changes collects which lists changed until the stream sends them.
type changes struct {
	mu     sync.Mutex
	set    map[string]bool
	signal chan struct{}
}

func (c *changes) mark(names ...string) {
	c.mu.Lock()
	if c.set == nil {
		c.set = map[string]bool{}
	}
	for _, n := range names {
		c.set[n] = true
	}
	c.mu.Unlock()
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

func (c *changes) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, n := range []string{"containers", "resources"} {
		if c.set[n] {
			out = append(out, n)
		}
	}
	c.set = nil
	return out
}

// listOf is the page's list an engine event changes.
func listOf(eventType string) string {
	if eventType == "container" {
		return "containers"
	}
	return "resources"
}

func (s *Server) followAgent(ctx context.Context, sse *sseWriter) {
	for ctx.Err() == nil {
		err := s.o.Agent.Events(ctx, func(ev api.Event) error { return sse.send(ev.Type, ev) })
		if ctx.Err() != nil {
			return
		}
		s.o.Log.Debug("dashboard: agent events", "err", err)
		if !sleep(ctx, retryEvery) {
			return
		}
	}
}

// followEngine marks what each engine event changed, and everything on
// every (re)connection, since events may have been missed in between.
func (s *Server) followEngine(ctx context.Context, ch *changes) {
	for ctx.Err() == nil {
		st, err := s.ec.Events(ctx, engine.EventFilter{Types: []string{"container", "image", "volume", "network"}})
		if err == nil {
			ch.mark("containers", "resources")
			for {
				var ev engine.Event
				if ev, err = st.Next(); err != nil {
					break
				}
				// A container's removal or creation changes what uses
				// the images and volumes too.
				ch.mark(listOf(ev.Type))
				if ev.Type == "container" && (ev.Action == "create" || ev.Action == "destroy") {
					ch.mark("resources")
				}
			}
			st.Close()
		}
		if ctx.Err() != nil {
			return
		}
		s.o.Log.Debug("dashboard: engine events", "err", err)
		if !sleep(ctx, retryEvery) {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (s *Server) machine(w http.ResponseWriter, r *http.Request) {
	st, err := s.o.Agent.Status(r.Context())
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, st)
}
