package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/internal/sockets"
)

// Client talks to one machine's host agent.
type Client struct {
	hc   *http.Client
	sock string
}

// NewClient returns a client for the agent listening on sock.
func NewClient(sock string) *Client {
	return &Client{sock: sock, hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return sockets.Dial(ctx, sock)
		},
		DisableKeepAlives: true,
	}}}
}

// Status returns the machine's status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var st Status
	if err := c.do(ctx, http.MethodGet, "/v1/status", &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Stop asks the agent to stop the machine; it returns once the request is
// accepted, not when the machine has stopped.
func (c *Client) Stop(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/stop", nil)
}

// StopNoSave is Stop without fastStart's save: the VM shuts down, and the
// next start boots (`berth restart`: a fresh engine).
func (c *Client) StopNoSave(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/stop?save=false", nil)
}

// Events calls fn for each event until fn returns an error, ctx ends or
// the agent closes the stream (io.EOF).
func (c *Client) Events(ctx context.Context, fn func(Event) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/v1/events", nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("connecting to the host agent: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("host agent: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("parsing event %q: %w", sc.Text(), err)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.EOF
}

func (c *Client) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://agent"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("connecting to the host agent: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("host agent: %s: %s", resp.Status, b)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// EngineRTT asks the agent to time n docker API calls that bypass the bridge.
func (c *Client) EngineRTT(ctx context.Context, n int, path string) (*RTT, error) {
	var r RTT
	if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/debug/engine-rtt?n=%d&path=%s", n, url.QueryEscape(path)), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Resources returns what the agent process holds.
func (c *Client) Resources(ctx context.Context) (*Resources, error) {
	var r Resources
	if err := c.do(ctx, http.MethodGet, "/v1/debug/resources", &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Exec runs a command in the VM; the connection carries agentapi frames.
func (c *Client) Exec(ctx context.Context, req agentapi.ExecRequest) (net.Conn, error) {
	return agentapi.DialExec(ctx, func(ctx context.Context) (net.Conn, error) {
		conn, err := sockets.Dial(ctx, c.sock)
		if err != nil {
			return nil, fmt.Errorf("connecting to the host agent (is the machine running? `berth start`): %w", err)
		}
		return conn, nil
	}, "agent", "/v1/exec", req)
}

// EngineLog returns the engine's log ("dockerd" or "containerd").
func (c *Client) EngineLog(ctx context.Context, name string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/v1/logs/"+name, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("connecting to the host agent: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("host agent: %s: %s", resp.Status, b)
	}
	return resp.Body, nil
}

// Dashboard returns the address of the machine's web page, with its token.
func (c *Client) Dashboard(ctx context.Context) (string, error) {
	var d Dashboard
	if err := c.do(ctx, http.MethodGet, "/v1/dashboard", &d); err != nil {
		return "", err
	}
	return d.URL, nil
}
