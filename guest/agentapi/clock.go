package agentapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// PathTime sets the guest's clock: POST a TimeRequest.
const PathTime = "/v1/time"

// PathLogs serves a daemon's log: GET /v1/logs/dockerd or /v1/logs/containerd.
const PathLogs = "/v1/logs/"

// TimeRequest carries the host's clock.
type TimeRequest struct {
	Time time.Time `json:"time"`
}

// ClockSetter is the Backend ability to set the clock.
type ClockSetter interface {
	SetClock(t time.Time) error
}

// LogSource is the Backend ability to serve daemon logs.
type LogSource interface {
	// Log opens the log of a daemon; os.ErrNotExist for an unknown one.
	Log(name string) (io.ReadCloser, error)
}

func serveTime(b Backend) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cs, ok := b.(ClockSetter)
		if !ok {
			writeJSON(w, http.StatusNotImplemented, ErrorResponse{Message: "this guest cannot set its clock"})
			return
		}
		var req TimeRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil || req.Time.IsZero() {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Message: "time: a JSON object {\"time\": RFC 3339} is required"})
			return
		}
		if err := cs.SetClock(req.Time); err != nil {
			writeJSON(w, http.StatusInternalServerError, ErrorResponse{Message: err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func serveLogs(b Backend) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ls, ok := b.(LogSource)
		if !ok {
			writeJSON(w, http.StatusNotImplemented, ErrorResponse{Message: "this guest has no logs to serve"})
			return
		}
		rc, err := ls.Log(r.PathValue("name"))
		if err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, os.ErrNotExist) { // os.IsNotExist does not unwrap
				code = http.StatusNotFound
			}
			writeJSON(w, code, ErrorResponse{Message: err.Error()})
			return
		}
		defer rc.Close()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.Copy(w, rc)
	}
}

// SetClock sets the guest's clock to t.
func (c *Client) SetClock(ctx context.Context, t time.Time) error {
	b, _ := json.Marshal(TimeRequest{Time: t})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+PathTime, strings.NewReader(string(b)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("guest agent: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("guest agent: setting the clock: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// Log returns a daemon's log ("dockerd", "containerd").
func (c *Client) Log(ctx context.Context, name string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+PathLogs+name, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("guest agent: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("guest agent: log %q: %s: %s", name, resp.Status, strings.TrimSpace(string(body)))
	}
	return resp.Body, nil
}
