package winservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/berth-dev/berth/vm/hyperv"
)

// Client is the user's side of the control pipe. It implements
// hyperv.Manager, so the Hyper-V driver drives the service through it.
type Client struct {
	// Dial opens the control pipe (DialService on Windows).
	Dial func(ctx context.Context) (net.Conn, error)
}

var _ hyperv.Manager = (*Client)(nil)

// ErrNoService wraps a failure to reach the service.
var ErrNoService = errors.New("berth-service is not reachable")

// requestTimeout bounds one request; a Hyper-V start is the longest.
// dialTimeout bounds the wait for a free instance of the pipe.
const (
	requestTimeout = 2 * time.Minute
	dialTimeout    = 5 * time.Second
)

// Do sends one request and reads its response; the service's refusal
// comes back as an error.
func (c *Client) Do(ctx context.Context, kind Kind, args any) (Response, error) {
	req := Request{Kind: kind}
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return Response{}, err
		}
		req.Args = b
	}
	line, err := json.Marshal(req)
	if err != nil {
		return Response{}, err
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	conn, err := c.Dial(dctx)
	cancel()
	if err != nil {
		return Response{}, fmt.Errorf("%w (%w): it runs only with Berth's per-machine install (the Windows containers option)", ErrNoService, err)
	}
	defer conn.Close()
	deadline := time.Now().Add(requestTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := conn.Write(append(line, '\n')); err != nil {
		return Response{}, fmt.Errorf("berth-service: sending %s: %w", kind, err)
	}
	var resp Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return Response{}, fmt.Errorf("berth-service: reading the answer to %s: %w", kind, err)
	}
	if resp.Error != "" {
		return resp, fmt.Errorf("berth-service: %s", resp.Error)
	}
	return resp, nil
}

// Features asks for the Windows features' states.
func (c *Client) Features(ctx context.Context) (Features, error) {
	r, err := c.Do(ctx, KindFeatures, nil)
	if err != nil {
		return Features{}, err
	}
	if r.Features == nil {
		return Features{}, errors.New("berth-service: no features in its answer")
	}
	return *r.Features, nil
}

// EngineStatus asks for the Windows engine's state.
func (c *Client) EngineStatus(ctx context.Context) (EngineStatus, error) {
	r, err := c.Do(ctx, KindEngineStatus, nil)
	if err != nil {
		return EngineStatus{}, err
	}
	if r.Engine == nil {
		return EngineStatus{}, errors.New("berth-service: no engine in its answer")
	}
	return *r.Engine, nil
}

// Start implements hyperv.Manager. userSID is not sent: the service takes
// the caller's SID from the pipe's client token.
func (c *Client) Start(ctx context.Context, _ string, req hyperv.MachineRequest) (hyperv.MachineState, error) {
	return c.machine(ctx, KindHyperVStart, req)
}

// Stop implements hyperv.Manager.
func (c *Client) Stop(ctx context.Context, _, machine string) error {
	_, err := c.Do(ctx, KindHyperVStop, MachineArgs{Machine: machine})
	return err
}

// State implements hyperv.Manager.
func (c *Client) State(ctx context.Context, _, machine string) (hyperv.MachineState, error) {
	return c.machine(ctx, KindHyperVState, MachineArgs{Machine: machine})
}

func (c *Client) machine(ctx context.Context, kind Kind, args any) (hyperv.MachineState, error) {
	r, err := c.Do(ctx, kind, args)
	if err != nil {
		return hyperv.MachineState{}, err
	}
	if r.Machine == nil {
		return hyperv.MachineState{}, fmt.Errorf("berth-service: no machine in its answer to %s", kind)
	}
	return *r.Machine, nil
}
