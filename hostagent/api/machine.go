package api

import (
	"context"
	"net/http"
)

// Error is the agent's refusal of a request: its HTTP status and message
// (for an invalid config, every problem, one a line).
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return e.Message }

// StopStandby stops the machine and keeps the agent up while a dashboard
// page is open (Status.Standby), so the page can start it again; with no
// page open it is Stop.
func (c *Client) StopStandby(ctx context.Context) error {
	return c.send(ctx, http.MethodPost, "/v1/stop?standby=true", nil, nil)
}

// Start starts the stopped machine of an agent that stands by, in that
// agent; it returns once the start is accepted (follow Events).
func (c *Client) Start(ctx context.Context, req StartRequest) error {
	return c.send(ctx, http.MethodPost, "/v1/start", req, nil)
}

// Restart stops the VM and boots it again in the same agent, with the
// config read again; an invalid config is refused (an *Error with code
// 400) and nothing is stopped. It returns once the restart is accepted.
func (c *Client) Restart(ctx context.Context) error {
	return c.send(ctx, http.MethodPost, "/v1/restart", nil, nil)
}
