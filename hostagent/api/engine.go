package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// DefaultEngineRequest is the body of POST /v1/default-engine: which
// engine Docker's default pipe (\\.\pipe\docker_engine) carries when the
// agent serves it, "linux" (the machine's) or "windows" (berth-service's
// dockerd.exe). Connections open at the time stay with their engine.
type DefaultEngineRequest struct {
	Engine string `json:"engine"`
}

// ErrDefaultNotServed is the agent's 409 to POST /v1/default-engine: it
// does not serve Docker's default pipe (not on Windows, the engine not up
// yet, or another server holds the pipe).
var ErrDefaultNotServed = errors.New("the host agent does not serve docker's default pipe")

// SetDefaultEngine re-points Docker's default pipe.
func (c *Client) SetDefaultEngine(ctx context.Context, engine string) error {
	err := c.send(ctx, http.MethodPost, "/v1/default-engine", DefaultEngineRequest{Engine: engine}, nil)
	if e, ok := errors.AsType[*Error](err); ok && e.Code == http.StatusConflict {
		return fmt.Errorf("%w: %s", ErrDefaultNotServed, e.Message)
	}
	return err
}
