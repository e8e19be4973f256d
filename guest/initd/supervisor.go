package initd

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/berth-dev/berth/guest/agentapi"
)

// Proc is a running process as the supervisor sees it.
type Proc interface {
	PID() int
	// Done is closed when the process has exited; Exit then says how.
	Done() <-chan struct{}
	Exit() Exit
	Signal(os.Signal) error
	// Tail returns the last lines the process wrote, for error reports.
	Tail() string
}

// Backoff is the restart delay policy: it starts at Min, doubles on each
// quick death up to Max, and returns to Min once a process ran ResetAfter.
type Backoff struct {
	Min, Max, ResetAfter time.Duration
}

// DefaultBackoff suits the engine's daemons.
var DefaultBackoff = Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second, ResetAfter: time.Minute}

// Supervisor keeps one daemon running.
type Supervisor struct {
	Name    string
	Start   func() (Proc, error)
	Backoff Backoff
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	StopTimeout time.Duration
	// OnStart, if set, runs after each successful start.
	OnStart func(Proc)
	// BeforeStop, if set, runs before the stop's SIGTERM (dockerd's
	// config reload that turns live-restore off); it must not block long.
	BeforeStop func(Proc)
	// Logf reports starts and exits (to the console).
	Logf func(format string, args ...any)

	mu       sync.Mutex
	state    string
	pid      int
	restarts int
	lastExit string
}

// Status is the supervisor's state for the health API.
func (s *Supervisor) Status() agentapi.ProcessStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	if st == "" {
		st = "not-started"
	}
	return agentapi.ProcessStatus{State: st, PID: s.pid, Restarts: s.restarts, LastExit: s.lastExit}
}

func (s *Supervisor) set(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

func (s *Supervisor) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// Run starts the daemon and restarts it whenever it dies, until ctx is
// cancelled; then it stops the daemon (SIGTERM, SIGKILL after StopTimeout)
// and returns.
func (s *Supervisor) Run(ctx context.Context) {
	delay := s.Backoff.Min
	for {
		started := time.Now()
		p, err := s.Start()
		if err != nil {
			msg := fmt.Sprintf("could not start: %v", err)
			s.set(func() { s.lastExit, s.pid = msg, 0 })
			s.logf("%s %s", s.Name, msg)
		} else {
			s.set(func() { s.state, s.pid = "running", p.PID() })
			s.logf("%s started (pid %d)", s.Name, p.PID())
			if s.OnStart != nil {
				s.OnStart(p)
			}
			select {
			case <-p.Done():
				msg := p.Exit().String()
				if tail := p.Tail(); tail != "" {
					msg += "; last output:\n" + tail
				}
				s.set(func() { s.lastExit, s.pid = msg, 0 })
				s.logf("%s (pid %d) exited after %s: %s", s.Name, p.PID(), time.Since(started).Round(time.Millisecond), msg)
				if time.Since(started) >= s.Backoff.ResetAfter {
					delay = s.Backoff.Min
				}
			case <-ctx.Done():
				s.stop(p)
				return
			}
		}
		s.set(func() { s.state = "backoff" })
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			s.set(func() { s.state = "stopped" })
			return
		}
		delay = min(delay*2, s.Backoff.Max)
		s.set(func() { s.restarts++; s.state = "starting" })
	}
}

func (s *Supervisor) stop(p Proc) {
	s.set(func() { s.state = "stopping" })
	s.logf("%s: stopping (pid %d)", s.Name, p.PID())
	if s.BeforeStop != nil {
		s.BeforeStop(p)
	}
	_ = p.Signal(syscall.SIGTERM)
	e := Exit{Signal: "SIGKILL (exit not seen)"}
	select {
	case <-p.Done():
		e = p.Exit()
	case <-time.After(s.StopTimeout):
		s.logf("%s did not stop within %s; killing it", s.Name, s.StopTimeout)
		_ = p.Signal(syscall.SIGKILL)
		select {
		case <-p.Done():
			e = p.Exit()
		case <-time.After(5 * time.Second):
		}
	}
	s.set(func() { s.state, s.pid, s.lastExit = "stopped", 0, "stopped: "+e.String() })
	s.logf("%s stopped: %s", s.Name, e)
}

// SummarizeExit shortens a ProcessStatus.LastExit to one line: how the
// process ended and its last line of output (where daemons say why).
func SummarizeExit(lastExit string) string {
	head, tail, found := strings.Cut(lastExit, "; last output:\n")
	if !found {
		return lastExit
	}
	lines := strings.Split(strings.TrimSpace(tail), "\n")
	return head + ": " + lines[len(lines)-1]
}
