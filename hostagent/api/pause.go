package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/berth-dev/berth/portfwd"
)

// Pausing a forward: POST and DELETE /v1/forwards/paused (see api.go).

// ForwardPaused is the state of a forward the user paused.
const ForwardPaused portfwd.State = "paused"

// PauseRequest is the body of POST /v1/forwards/paused.
type PauseRequest struct {
	Proto    portfwd.Proto `json:"proto"`
	HostPort int           `json:"hostPort"`
}

// PauseForward closes the host listeners of a port until ResumeForward.
func (c *Client) PauseForward(ctx context.Context, proto portfwd.Proto, hostPort int) error {
	return c.send(ctx, http.MethodPost, "/v1/forwards/paused", PauseRequest{Proto: proto, HostPort: hostPort}, nil)
}

// ResumeForward forwards a paused port again.
func (c *Client) ResumeForward(ctx context.Context, proto portfwd.Proto, hostPort int) error {
	return c.send(ctx, http.MethodDelete, fmt.Sprintf("/v1/forwards/paused?proto=%s&port=%d", proto, hostPort), nil, nil)
}
