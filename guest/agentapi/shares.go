package agentapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// PathShares unmounts or mounts the VM's shared folders: POST a
// SharesRequest. A VM is saved (vm.Saver) with its shares unmounted, since
// their devices cannot be saved, and they are mounted again once the
// restored VM has them plugged.
const PathShares = "/v1/shares"

// SharesRequest asks for the shares mounted or not.
type SharesRequest struct {
	Mounted bool `json:"mounted"`
}

// ShareMounter is the Backend ability to unmount and mount the shares.
type ShareMounter interface {
	// UnmountShares unmounts every share (detaching one still in use)
	// and flushes the file systems to their disks.
	UnmountShares() error
	// MountShares mounts every share, waiting for its device to appear
	// until ctx ends.
	MountShares(ctx context.Context) error
}

func serveShares(b Backend) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sm, ok := b.(ShareMounter)
		if !ok {
			writeJSON(w, http.StatusNotImplemented, ErrorResponse{Message: "this guest cannot mount and unmount its shares"})
			return
		}
		var req SharesRequest
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Message: "shares: a JSON object {\"mounted\": true|false} is required"})
			return
		}
		var err error
		if req.Mounted {
			err = sm.MountShares(r.Context())
		} else {
			err = sm.UnmountShares()
		}
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, ErrorResponse{Message: err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// SetSharesMounted unmounts (false) or mounts (true) the guest's shares.
func (c *Client) SetSharesMounted(ctx context.Context, mounted bool) error {
	b, _ := json.Marshal(SharesRequest{Mounted: mounted})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+PathShares, strings.NewReader(string(b)))
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
		var e ErrorResponse
		if json.Unmarshal(body, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(body))
		}
		return fmt.Errorf("guest agent: shares mounted=%v: %s: %s", mounted, resp.Status, e.Message)
	}
	return nil
}
