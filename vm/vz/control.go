package vz

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/berth-dev/berth/internal/sockets"
)

// The helper's control protocol, on its owner-only socket (controlSock):
// one JSON request per connection, one JSON answer, then the helper closes
// it.
//
//	{"op":"state"}               → {"state":"running","pid":123}
//	{"op":"stop","graceMs":N}    → {"state":"stopping","pid":123}: the guest is
//	                                asked to power off, and the VM is ended
//	                                if it still runs N ms later
//	{"op":"kill"}                → {"state":"stopping","pid":123}: ended now
//
// Anything else is answered {"error":"..."}.
const (
	opState = "state"
	opStop  = "stop"
	opKill  = "kill"
)

type request struct {
	Op      string `json:"op"`
	GraceMs int64  `json:"graceMs,omitempty"`
}

type response struct {
	State State  `json:"state,omitempty"`
	PID   int    `json:"pid,omitempty"`
	Error string `json:"error,omitempty"`
}

// maxRequest bounds what the helper reads of one request.
const maxRequest = 4 << 10

// controlTimeout bounds one exchange on the control socket.
const controlTimeout = 5 * time.Second

// callHelper sends one request to the helper's control socket.
func callHelper(ctx context.Context, sock string, req request) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	c, err := sockets.Dial(ctx, sock)
	if err != nil {
		return response{}, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	b, _ := json.Marshal(req)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return response{}, fmt.Errorf("vz helper %s: %w", req.Op, err)
	}
	var resp response
	if err := json.NewDecoder(io.LimitReader(c, maxRequest)).Decode(&resp); err != nil {
		return response{}, fmt.Errorf("vz helper %s: reading the answer: %w", req.Op, err)
	}
	if resp.Error != "" {
		return resp, fmt.Errorf("vz helper %s: %s", req.Op, resp.Error)
	}
	return resp, nil
}

// record is what recordFile holds while the helper runs its VM: with the
// pidfile and the control socket's answer, what a later agent checks
// before it adopts the helper.
type record struct {
	PID      int    `json:"pid"`
	Identity string `json:"identity,omitempty"`
	MAC      string `json:"mac"`
}
