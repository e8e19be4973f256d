package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/berth-dev/berth/hostagent"
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/pidfile"
	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/store"
)

// StopOptions configure Stop.
type StopOptions struct {
	Machine  store.Machine
	ImageDir string
	Driver   string
	// Timeout is how long the graceful stop may take before force.
	Timeout  time.Duration
	Progress io.Writer
	// NoSave shuts the VM down even with fastStart on (`berth restart`).
	NoSave bool
}

// StopResult says what Stop found and did.
type StopResult struct {
	WasRunning bool
	Forced     bool
	// Findings lists what was found amiss and cleaned up.
	Findings []string
}

// Stop stops the machine: the agent stops the engine and the VM in order;
// if it does not finish in time it is killed with its VM. A machine whose
// agent or VM was killed is cleaned up, and what was found is reported.
func Stop(ctx context.Context, o StopOptions) (*StopResult, error) {
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Minute
	}
	m := o.Machine
	res := &StopResult{}
	pidPath := m.Path(store.AgentPIDFile)
	pid, alive, _ := pidfile.Read(pidPath)
	if alive {
		res.WasRunning = true
		cli := api.NewClient(m.AgentSocket())
		stop := cli.Stop
		if o.NoSave {
			stop = cli.StopNoSave
		}
		if err := stop(ctx); err != nil {
			res.Findings = append(res.Findings, fmt.Sprintf("the host agent (pid %d) did not answer: %v", pid, err))
			_ = proc.Terminate(pid)
		} else {
			fmt.Fprintln(o.Progress, "Stopping the engine and the VM...")
		}
		wctx, cancel := context.WithTimeout(ctx, o.Timeout)
		err := proc.WaitExit(wctx, pid, 100*time.Millisecond)
		cancel()
		if err != nil {
			res.Forced = true
			res.Findings = append(res.Findings, fmt.Sprintf("the host agent (pid %d) did not stop within %s: killed", pid, o.Timeout))
			if err := proc.Kill(pid); err != nil && proc.Alive(pid) {
				return res, fmt.Errorf("killing the host agent (pid %d): %w", pid, err)
			}
		}
	} else if pid != 0 {
		res.Findings = append(res.Findings, fmt.Sprintf("the host agent (pid %d) was not running: stale pidfile removed", pid))
	}
	if !alive {
		_ = os.Remove(pidPath)
	}

	// Whatever the agent left behind: a VM without its agent, sockets.
	found, err := hostagent.Cleanup(ctx, hostagent.Options{Machine: m, ImageDir: o.ImageDir, Driver: o.Driver})
	res.Findings = append(res.Findings, found...)
	if len(found) > 0 {
		res.WasRunning = true
	}
	if err != nil {
		return res, err
	}
	if _, stillAlive, _ := pidfile.Read(pidPath); stillAlive {
		return res, errors.New("the host agent is still running")
	}
	return res, nil
}

// Status returns the machine's status; a machine without an agent is stopped.
func Status(ctx context.Context, m store.Machine) (*api.Status, error) {
	pid, alive, _ := pidfile.Read(m.Path(store.AgentPIDFile))
	if !alive {
		return &api.Status{Machine: m.Name, State: api.StateStopped, DockerHost: m.DockerHost(), DockerSocket: m.DockerSocket()}, nil
	}
	st, err := api.NewClient(m.AgentSocket()).Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("the host agent (pid %d) does not answer: %w", pid, err)
	}
	return st, nil
}
