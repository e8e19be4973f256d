package engineswitch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/berth-dev/berth/internal/dockercontext"
)

// ErrNotRouted means the default pipe is not Berth's to re-point (the
// agent does not run, or another server holds the pipe): the switch then
// changes the docker context only.
var ErrNotRouted = errors.New("docker's default pipe is not served by Berth")

// Switcher makes one engine the default.
type Switcher struct {
	// DockerConfig is the docker CLI's configuration directory.
	DockerConfig string
	// LinuxHost and WindowsHost are the engines' docker hosts, for the
	// contexts.
	LinuxHost, WindowsHost string
	// Ready says whether e can be the default, and if not, why and what
	// to do; nothing has changed when it fails.
	Ready func(ctx context.Context, e Engine) error
	// Route re-points the default pipe at e; ErrNotRouted when Berth
	// does not serve it.
	Route func(ctx context.Context, e Engine) error
}

// Result is what a switch did.
type Result struct {
	Engine  Engine
	Context string
	// Routed says whether the default pipe now carries Engine.
	Routed bool
	Took   time.Duration
}

// Switch makes e the default: both contexts exist, the default pipe
// carries e when Berth serves it, and the current docker context is e's.
// Neither engine is started or stopped. When e is not ready nothing
// changes; when the context cannot be written the pipe is put back.
func (s Switcher) Switch(ctx context.Context, e Engine) (Result, error) {
	began := time.Now()
	res := Result{Engine: e, Context: e.Context()}
	if err := s.Ready(ctx, e); err != nil {
		return res, fmt.Errorf("cannot switch to %s containers: %w", e, err)
	}
	if err := EnsureContexts(s.DockerConfig, s.LinuxHost, s.WindowsHost); err != nil {
		return res, err
	}
	switch err := s.Route(ctx, e); {
	case err == nil:
		res.Routed = true
	case errors.Is(err, ErrNotRouted):
	default:
		return res, fmt.Errorf("re-pointing docker's default pipe: %w", err)
	}
	if err := dockercontext.Use(s.DockerConfig, e.Context()); err != nil {
		if res.Routed {
			_ = s.Route(ctx, e.Other())
		}
		return res, fmt.Errorf("making %s the docker context: %w", e.Context(), err)
	}
	res.Took = time.Since(began)
	return res, nil
}

// Ping asks the engine behind dial for /_ping, as the docker CLI does
// first: nil when it answers OK.
func Ping(ctx context.Context, dial func(context.Context) (net.Conn, error)) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		DisableKeepAlives: true,
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/_ping: %s", resp.Status)
	}
	return nil
}
