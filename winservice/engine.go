package winservice

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// EngineStatus is the Windows engine's state as the service sees it.
type EngineStatus struct {
	// State is "running", "restarting" (it died and is started again
	// after a pause), "failed" (it could not be started; retried),
	// "stopped", or "unavailable" (no dockerd.exe, or the features are off;
	// Reason says which).
	State    string `json:"state"`
	Reason   string `json:"reason,omitempty"`
	PID      int    `json:"pid,omitempty"`
	Restarts int    `json:"restarts"`
	Dockerd  string `json:"dockerd,omitempty"`
	Host     string `json:"host"`
}

// DataRoot is the Windows engine's own directory under %ProgramData%
// (programData): its images, containers, exec root, pid file and
// daemon.json, apart from any other dockerd's.
func DataRoot(programData string) string {
	return strings.TrimRight(programData, `\`) + `\Berth\windows`
}

// EngineArgs are dockerd.exe's arguments: its own data root, exec root,
// pid file and configuration file under dataRoot (so that it never meets
// Docker Desktop's or a dockerd service's, whose defaults are under
// %ProgramData%\docker), listening only on Berth's pipe, whose DACL admits
// the account group (the installing user or its group; dockerd looks the
// name up with LookupAccountName) besides Administrators and SYSTEM.
func EngineArgs(dataRoot, group string) []string {
	return []string{
		"--data-root", dataRoot,
		"--exec-root", dataRoot + `\exec-root`,
		"--pidfile", dataRoot + `\dockerd.pid`,
		"--config-file", dataRoot + `\daemon.json`,
		"-H", EngineHost,
		"--group", group,
	}
}

// DockerdCandidates are where an installed dockerd.exe is looked for,
// first found first used: Docker Desktop's copy, then a Docker engine
// installed from Docker's static zip or Microsoft's install script
// (%ProgramFiles%\docker). Berth ships none: it reuses the one the user
// has.
func DockerdCandidates(programFiles string) []string {
	pf := strings.TrimRight(programFiles, `\`)
	return []string{
		pf + `\Docker\Docker\resources\dockerd.exe`,
		pf + `\docker\dockerd.exe`,
	}
}

// FindDockerd returns the dockerd.exe to run: explicit when set (the
// service's -dockerd flag), else the first candidate that exists.
func FindDockerd(explicit, programFiles string, exists func(string) bool) (string, error) {
	if explicit != "" {
		if !exists(explicit) {
			return "", fmt.Errorf("dockerd.exe: %s (the service's -dockerd) does not exist", explicit)
		}
		return explicit, nil
	}
	c := DockerdCandidates(programFiles)
	for _, p := range c {
		if exists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no dockerd.exe found (looked for %s): install Docker's Windows engine (Docker Desktop, or the static binaries in %s\\docker), or give its path to the service with -dockerd",
		strings.Join(c, ", "), strings.TrimRight(programFiles, `\`))
}

// Process is one running engine.
type Process interface {
	Pid() int
	Wait() error
	Kill() error
}

// Starter starts the engine once.
type Starter func(ctx context.Context) (Process, error)

// ExecStarter starts path with args.
func ExecStarter(path string, args ...string) Starter {
	return func(context.Context) (Process, error) {
		cmd := exec.Command(path, args...)
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return execProcess{cmd}, nil
	}
}

type execProcess struct{ cmd *exec.Cmd }

func (p execProcess) Pid() int    { return p.cmd.Process.Pid }
func (p execProcess) Wait() error { return p.cmd.Wait() }
func (p execProcess) Kill() error { return p.cmd.Process.Kill() }

// Supervisor keeps the engine running: it starts it, and when it dies or
// cannot start, starts it again after a pause that doubles from MinPause
// to MaxPause (back to MinPause after a run of StableAfter).
type Supervisor struct {
	Start   Starter
	Log     EventLog
	Dockerd string

	MinPause, MaxPause, StableAfter time.Duration

	mu     sync.Mutex
	status EngineStatus
}

// Status implements EngineReporter.
func (s *Supervisor) Status() EngineStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	if st.State == "" {
		st.State = "stopped"
	}
	st.Dockerd, st.Host = s.Dockerd, EngineHost
	return st
}

func (s *Supervisor) set(f func(*EngineStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.status)
}

func (s *Supervisor) pauses() (lo, hi, stable time.Duration) {
	lo, hi, stable = s.MinPause, s.MaxPause, s.StableAfter
	if lo <= 0 {
		lo = time.Second
	}
	if hi < lo {
		hi = 30 * time.Second
	}
	if stable <= 0 {
		stable = time.Minute
	}
	return lo, hi, stable
}

// Run supervises the engine until ctx ends, then kills it and waits for
// it: when Run returns, no engine process of it is left.
func (s *Supervisor) Run(ctx context.Context) {
	lo, hi, stable := s.pauses()
	pause := lo
	for ctx.Err() == nil {
		began := time.Now()
		err := s.runOnce(ctx)
		if ctx.Err() != nil {
			break
		}
		if time.Since(began) >= stable {
			pause = lo
		}
		_ = s.Log.Warning(EventEngine, fmt.Sprintf("the Windows engine stopped (%v); starting it again in %s", err, pause))
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(pause*2, hi)
	}
	s.set(func(st *EngineStatus) { st.State, st.PID, st.Reason = "stopped", 0, "" })
}

// runOnce starts the engine and waits until it exits or ctx ends.
func (s *Supervisor) runOnce(ctx context.Context) error {
	p, err := s.Start(ctx)
	if err != nil {
		s.set(func(st *EngineStatus) { st.State, st.PID, st.Reason = "failed", 0, err.Error() })
		return fmt.Errorf("starting: %w", err)
	}
	s.set(func(st *EngineStatus) { st.State, st.PID, st.Reason = "running", p.Pid(), "" })
	_ = s.Log.Info(EventEngine, fmt.Sprintf("the Windows engine runs (pid %d) on %s", p.Pid(), EnginePipe))
	done := make(chan error, 1)
	go func() { done <- p.Wait() }()
	select {
	case err = <-done:
		if err == nil {
			err = errors.New("exited")
		}
		s.set(func(st *EngineStatus) { st.State, st.PID, st.Reason = "restarting", 0, err.Error(); st.Restarts++ })
		return err
	case <-ctx.Done():
		_ = p.Kill()
		_ = s.Log.Info(EventEngine, fmt.Sprintf("the Windows engine stopped with the service (%v)", <-done))
		return ctx.Err()
	}
}

// EngineReady says whether the engine in st can take requests, and if not,
// why.
func EngineReady(st EngineStatus) error {
	switch st.State {
	case "running":
		return nil
	case "unavailable":
		return fmt.Errorf("the Windows engine does not run: %s", st.Reason)
	case "restarting", "failed":
		return fmt.Errorf("the Windows engine is %s after %d restarts (%s); berth-service retries it: see the Application event log, source %s",
			st.State, st.Restarts, st.Reason, "berth-service")
	}
	return fmt.Errorf("the Windows engine is %s", st.State)
}
