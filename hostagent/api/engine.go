package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	b, _ := json.Marshal(DefaultEngineRequest{Engine: engine})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://agent/v1/default-engine", bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("connecting to the host agent: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct{ Message string }
	_ = json.Unmarshal(body, &e)
	switch {
	case resp.StatusCode == http.StatusConflict:
		return fmt.Errorf("%w: %s", ErrDefaultNotServed, e.Message)
	case resp.StatusCode/100 != 2 && e.Message != "":
		return errors.New(e.Message)
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("host agent: %s", resp.Status)
	}
	return nil
}
