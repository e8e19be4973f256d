package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/berth-dev/berth/portfwd"
)

// Pausing a forward (the tray's "Stop forwarding"):
//
//	POST   /v1/forwards/paused  body {"proto":"tcp","hostPort":8080}: close the
//	                            host listeners of that port, whatever made the
//	                            forward (a published port, a guest listener, a
//	                            manual forward); 204. The forwards stay listed
//	                            in GET /v1/forwards with state "paused", and a
//	                            "forward" event with that state follows.
//	DELETE /v1/forwards/paused?proto=tcp&port=8080
//	                            forward it again; 204, 404 when not paused.
//
// A pause lives in the agent's memory and ends by itself when nothing wants
// that port any more (the container stopped): a new container on the port
// is forwarded as usual, and a restart of the machine forwards everything.

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
