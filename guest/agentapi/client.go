package agentapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/guest/guestconfig"
)

// DialFunc opens a connection to the guest. The client passes the guest's
// agent address (guestconfig.GuestIP:AgentPort); a dialer that reaches the
// guest another way (the host agent's in-process virtual network, a port
// forward) may ignore it.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Client talks to the guest agent.
type Client struct {
	http *http.Client
	base string
	dial DialFunc
}

// agentAddr is the guest agent's address on the private network.
var agentAddr = net.JoinHostPort(guestconfig.GuestIP, strconv.Itoa(guestconfig.AgentPort))

// NewClient returns a client that opens every connection with dial. It
// keeps no connection open between calls, so a VM restart never leaves it
// holding a dead one.
func NewClient(dial DialFunc) *Client {
	return &Client{
		http: &http.Client{Transport: &http.Transport{
			DialContext:       dial,
			DisableKeepAlives: true,
			Proxy:             nil, // never an environment proxy: the guest is private
		}},
		base: "http://" + agentAddr,
		dial: dial,
	}
}

// Health returns the guest's health.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	err := c.do(ctx, http.MethodGet, PathHealth, http.StatusOK, &h)
	return h, err
}

// Shutdown asks the guest to stop the engine cleanly and power off. It
// returns once the guest has accepted; the VM exits later (up to the
// engine's stop timeout plus a margin).
func (c *Client) Shutdown(ctx context.Context) error {
	var r ShutdownResponse
	return c.do(ctx, http.MethodPost, PathShutdown, http.StatusAccepted, &r)
}

func (c *Client) do(ctx context.Context, method, path string, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("guest agent %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("guest agent %s %s: reading answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		var e ErrorResponse
		if json.Unmarshal(body, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(body))
		}
		return fmt.Errorf("guest agent %s %s: %s: %w", method, path, resp.Status, errors.New(e.Message))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("guest agent %s %s: decoding answer: %w", method, path, err)
	}
	return nil
}
