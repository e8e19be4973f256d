// Package lifecycle is the client side of the host agent's process
// contract: it starts the agent as a detached process and follows it until
// the engine answers, stops it in stages, and reports status. The CLI and
// the tray call it; the agent itself is package hostagent.
package lifecycle

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/pidfile"
	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/kernel"
	"github.com/berth-dev/berth/store"
)

// StartOptions configure Start.
type StartOptions struct {
	Machine store.Machine
	// Exe is the berth binary that runs as `berth hostagent`.
	Exe      string
	ImageDir string
	Driver   string
	Accel    string
	// Progress receives one line per step.
	Progress io.Writer
	// Timeout bounds the whole start.
	Timeout time.Duration
}

// StartResult tells what Start did.
type StartResult struct {
	Status         api.Status
	AlreadyRunning bool
}

// Start starts the machine's host agent unless it runs, and returns once
// the engine answers (or the start failed).
func Start(ctx context.Context, o StartOptions) (*StartResult, error) {
	m := o.Machine
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := m.Ensure(); err != nil {
		return nil, err
	}
	client := api.NewClient(m.AgentSocket())
	if pid, alive, _ := pidfile.Read(m.Path(store.AgentPIDFile)); alive {
		st, err := client.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("a host agent (pid %d) runs but does not answer on %s: %w", pid, m.AgentSocket(), err)
		}
		switch st.State {
		case api.StateRunning, api.StateDegraded, api.StatePaused:
			return &StartResult{Status: *st, AlreadyRunning: true}, nil
		case api.StateStarting:
			fmt.Fprintf(o.Progress, "Machine %q is starting; following it.\n", m.Name)
			st, err = follow(ctx, client, m, nil, o.Progress)
			if err != nil {
				return nil, err
			}
			return &StartResult{Status: *st}, nil
		}
		// Stopping, or ended with an error and winding down: a start
		// waits for that agent to finish, then starts the machine; an
		// agent that stands by (an open dashboard keeps it up) starts it.
		if !st.Standby {
			fmt.Fprintf(o.Progress, "Machine %q is %s; waiting for it to stop, then starting it.\n", m.Name, st.State)
		}
		standby, err := settle(ctx, client, pid)
		if err != nil {
			return nil, err
		}
		if standby {
			res, err := startInAgent(ctx, o, client)
			if res != nil || err != nil {
				return res, err
			}
		}
		if err := proc.WaitExit(ctx, pid, 100*time.Millisecond); err != nil {
			return nil, fmt.Errorf("waiting for the host agent (pid %d) to stop: %w", pid, err)
		}
		if err := waitPidfileGone(ctx, m); err != nil {
			return nil, err
		}
	}
	if _, err := kernel.ReadManifest(o.ImageDir); err != nil {
		return nil, err
	}
	exited, err := spawn(o)
	if err != nil {
		return nil, err
	}
	st, err := follow(ctx, client, m, exited, o.Progress)
	if err != nil {
		return nil, err
	}
	return &StartResult{Status: *st}, nil
}

// settle waits until the agent either stands by (Status.Standby: a
// stopped machine an open dashboard keeps its agent up for) or exits, and
// says which.
func settle(ctx context.Context, client *api.Client, pid int) (bool, error) {
	for {
		standby := false
		_ = client.Events(ctx, func(ev api.Event) error {
			if ev.Status != nil && ev.Status.Standby {
				standby = true
				return errDone
			}
			return nil
		})
		if standby {
			return true, nil
		}
		if !proc.Alive(pid) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("waiting for the host agent (pid %d) to stop: %w", pid, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startInAgent starts the machine in the agent that stands by, and follows
// the start; (nil, nil) when that agent is exiting after all (the caller
// then waits for it and starts a new one).
func startInAgent(ctx context.Context, o StartOptions, client *api.Client) (*StartResult, error) {
	err := client.Start(ctx, api.StartRequest{Driver: o.Driver, Accel: o.Accel})
	var refused *api.Error
	if errors.As(err, &refused) && refused.Code == http.StatusConflict {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("starting machine %q in its host agent: %w", o.Machine.Name, err)
	}
	fmt.Fprintf(o.Progress, "Machine %q was stopped, its host agent kept up by an open dashboard; starting it there.\n", o.Machine.Name)
	st, err := follow(ctx, client, o.Machine, nil, o.Progress)
	if err != nil {
		return nil, err
	}
	return &StartResult{Status: *st}, nil
}

// waitPidfileGone waits until no live agent holds the machine's pidfile
// (the exiting agent releases it last).
func waitPidfileGone(ctx context.Context, m store.Machine) error {
	for {
		pid, alive, _ := pidfile.Read(m.Path(store.AgentPIDFile))
		if !alive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the host agent (pid %d) to stop: %w", pid, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// spawn starts `berth hostagent` detached, its output appended to the log.
func spawn(o StartOptions) (<-chan struct{}, error) {
	m := o.Machine
	logf, err := os.OpenFile(m.Path(store.AgentLogFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the agent log: %w", err)
	}
	defer logf.Close()
	// A log kept from before may have a wider mode: it holds requests.
	if err := logf.Chmod(0o600); err != nil {
		return nil, fmt.Errorf("the agent log: %w", err)
	}
	args := []string{"hostagent", "--machine", m.Name, "--image-dir", o.ImageDir}
	if o.Driver != "" {
		args = append(args, "--driver", o.Driver)
	}
	if o.Accel != "" {
		args = append(args, "--accel", o.Accel)
	}
	cmd := exec.Command(o.Exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), store.EnvHome+"="+strings.TrimSuffix(m.Dir, string(os.PathSeparator)+m.Name))
	proc.Detach(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the host agent: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	return exited, nil
}

// follow streams the agent's events, printing progress, until the machine
// runs, fails, or the agent exits.
func follow(ctx context.Context, client *api.Client, m store.Machine, exited <-chan struct{}, out io.Writer) (*api.Status, error) {
	var last api.Status
	lastLine := ""
	for {
		err := client.Events(ctx, func(ev api.Event) error {
			if ev.Status == nil {
				return nil
			}
			last = *ev.Status
			if line := progressLine(last); line != "" && line != lastLine {
				fmt.Fprintln(out, line)
				lastLine = line
			}
			switch last.State {
			case api.StateRunning, api.StateDegraded, api.StatePaused:
				return errDone
			case api.StateError:
				return fmt.Errorf("%s (agent log: %s)", last.Error, m.Path(store.AgentLogFile))
			case api.StateStopped, api.StateStopping:
				if last.Phase == "" || last.State == api.StateStopped {
					return fmt.Errorf("the machine stopped while starting (agent log: %s)", m.Path(store.AgentLogFile))
				}
			}
			return nil
		})
		if errors.Is(err, errDone) {
			return &last, nil
		}
		if err != nil && !isConnError(err) && !errors.Is(err, io.EOF) {
			return nil, err
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("the host agent exited: %s", logTail(m.Path(store.AgentLogFile)))
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for machine %q: %w", m.Name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if exited == nil {
			if _, alive, _ := pidfile.Read(m.Path(store.AgentPIDFile)); !alive {
				return nil, fmt.Errorf("the host agent exited: %s", logTail(m.Path(store.AgentLogFile)))
			}
		}
	}
}

var errDone = errors.New("done")

func isConnError(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connecting to the host agent")
}

func progressLine(s api.Status) string {
	switch s.State {
	case api.StateStarting:
		switch s.Phase {
		case "preparing":
			return "Preparing the machine..."
		case "booting":
			return "Booting the VM..."
		case "engine":
			line := fmt.Sprintf("VM up (%s, accelerator %s); starting the engine...", s.Driver, s.Accelerator)
			if s.AccelNote != "" {
				line += "\n  note: " + s.AccelNote
			}
			return line
		}
	case api.StateRunning:
		return fmt.Sprintf("Engine ready in %.1fs.", s.ReadyAt.Sub(s.StartedAt).Seconds())
	case api.StateDegraded:
		return "Engine up but degraded: " + s.Error
	}
	return ""
}

// logTail returns the last error lines of the agent's JSON log.
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "no log at " + path
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 5 {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n") + "\n(full log: " + path + ")"
}
