package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/berth-dev/berth/portfwd"
)

// ForwardRequest is the body of POST /v1/forwards.
type ForwardRequest struct {
	// Spec is [HOSTIP:]HOSTPORT[:GUESTPORT][/udp].
	Spec string `json:"spec"`
}

// Forwards lists every port forward: published ports, guest listeners and
// manual forwards, with their state.
func (c *Client) Forwards(ctx context.Context) ([]portfwd.Forward, error) {
	var fs []portfwd.Forward
	err := c.send(ctx, http.MethodGet, "/v1/forwards", nil, &fs)
	return fs, err
}

// AddForward adds a manual forward, saved across restarts, and returns the
// host listeners it made (a loopback forward has two, 127.0.0.1 and ::1).
func (c *Client) AddForward(ctx context.Context, spec string) ([]portfwd.Forward, error) {
	var fs []portfwd.Forward
	err := c.send(ctx, http.MethodPost, "/v1/forwards", ForwardRequest{Spec: spec}, &fs)
	return fs, err
}

// RemoveForward removes a manual forward.
func (c *Client) RemoveForward(ctx context.Context, spec string) error {
	return c.send(ctx, http.MethodDelete, "/v1/forwards?spec="+url.QueryEscape(spec), nil, nil)
}

// send is do with a JSON body; an error carries the agent's message.
func (c *Client) send(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://agent"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("connecting to the host agent: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Message string }
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			return &Error{Code: resp.StatusCode, Message: e.Message}
		}
		return &Error{Code: resp.StatusCode, Message: fmt.Sprintf("host agent: %s: %s", resp.Status, bytes.TrimSpace(b))}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}
