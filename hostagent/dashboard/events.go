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
// ("status", "forward", as /v1/events has them) and "containers" when the
// engine's containers changed (the page lists them again), at most every
// changesSettle. Nothing of it runs while no page is open.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	sse, ok := newSSE(w)
	if !ok {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	changed := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() { s.followAgent(ctx, sse) })
	wg.Go(func() { s.followEngine(ctx, changed) })
	defer wg.Wait()
	defer cancel()
	ka := time.NewTicker(keepAlive)
	defer ka.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			if sse.send("containers", nil) != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(changesSettle):
			}
		case <-ka.C:
			if sse.send("ping", nil) != nil {
				return
			}
		}
	}
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

// followEngine marks changed on every container event, and on every
// (re)connection, since events may have been missed in between.
func (s *Server) followEngine(ctx context.Context, changed chan<- struct{}) {
	mark := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	for ctx.Err() == nil {
		st, err := s.ec.Events(ctx, engine.EventFilter{Types: []string{"container"}})
		if err == nil {
			mark()
			for {
				if _, err = st.Next(); err != nil {
					break
				}
				mark()
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
