package initd

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeProc exits when told to, or on the signals a real daemon obeys.
type fakeProc struct {
	pid     int
	done    chan struct{}
	once    sync.Once
	exit    Exit
	ignore  bool // ignores SIGTERM
	mu      sync.Mutex
	signals []os.Signal
}

func newFakeProc(pid int) *fakeProc { return &fakeProc{pid: pid, done: make(chan struct{})} }

func (p *fakeProc) PID() int              { return p.pid }
func (p *fakeProc) Done() <-chan struct{} { return p.done }
func (p *fakeProc) Exit() Exit            { return p.exit }
func (p *fakeProc) Tail() string          { return "last words" }
func (p *fakeProc) die(e Exit)            { p.once.Do(func() { p.exit = e; close(p.done) }) }
func (p *fakeProc) Signal(s os.Signal) error {
	p.mu.Lock()
	p.signals = append(p.signals, s)
	p.mu.Unlock()
	if s == syscall.SIGKILL || !p.ignore {
		p.die(Exit{Signal: s.String()})
	}
	return nil
}

type fakeStarter struct {
	mu     sync.Mutex
	procs  []*fakeProc
	starts []time.Time
	fail   int // the first fail starts return an error
	ignore bool
	next   chan *fakeProc
}

func (f *fakeStarter) start() (Proc, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, time.Now())
	if f.fail > 0 {
		f.fail--
		return nil, errors.New("exec: not found")
	}
	p := newFakeProc(100 + len(f.procs))
	p.ignore = f.ignore
	f.procs = append(f.procs, p)
	if f.next != nil {
		f.next <- p
	}
	return p, nil
}

func TestSupervisorRestartsWithBackoff(t *testing.T) {
	fs := &fakeStarter{next: make(chan *fakeProc, 10), fail: 1}
	s := &Supervisor{Name: "d", Start: fs.start, StopTimeout: time.Second,
		Backoff: Backoff{Min: 20 * time.Millisecond, Max: 80 * time.Millisecond, ResetAfter: time.Hour}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()

	for range 4 {
		p := <-fs.next
		p.die(Exit{Code: 1})
	}
	p := <-fs.next // the fifth process stays up
	waitFor(t, func() bool { return s.Status().State == "running" && s.Status().PID == p.pid })
	st := s.Status()
	if st.Restarts != 5 || st.LastExit != "exit status 1; last output:\nlast words" {
		t.Fatalf("status %+v", st)
	}
	fs.mu.Lock()
	var gaps []time.Duration
	for i := 1; i < len(fs.starts); i++ {
		gaps = append(gaps, fs.starts[i].Sub(fs.starts[i-1]))
	}
	fs.mu.Unlock()
	// 20, 40, 80, 80, 80 ms: doubling, capped.
	for i, min := range []time.Duration{20, 40, 80, 80, 80} {
		if gaps[i] < min*time.Millisecond {
			t.Errorf("gap %d = %s, want at least %dms (gaps %v)", i, gaps[i], min, gaps)
		}
	}
	cancel()
	<-done
	if st := s.Status(); st.State != "stopped" || p.Exit().Signal != "terminated" {
		t.Fatalf("after stop: %+v, exit %v", st, p.Exit())
	}
}

// stopAfterStart runs s until its first process started, then stops it
// and returns that process.
func stopAfterStart(s *Supervisor, fs *fakeStarter) *fakeProc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	p := <-fs.next
	cancel()
	<-done
	return p
}

func TestSupervisorKillsAfterStopTimeout(t *testing.T) {
	fs := &fakeStarter{next: make(chan *fakeProc, 1), ignore: true}
	s := &Supervisor{Name: "d", Start: fs.start, StopTimeout: 50 * time.Millisecond, Backoff: DefaultBackoff}
	p := stopAfterStart(s, fs)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.signals) != 2 || p.signals[0] != syscall.SIGTERM || p.signals[1] != syscall.SIGKILL {
		t.Fatalf("signals %v, want SIGTERM then SIGKILL", p.signals)
	}
}

func TestSupervisorBeforeStopRunsBeforeSIGTERM(t *testing.T) {
	fs := &fakeStarter{next: make(chan *fakeProc, 1)}
	var seen []os.Signal
	s := &Supervisor{Name: "d", Start: fs.start, StopTimeout: time.Second, Backoff: DefaultBackoff,
		BeforeStop: func(p Proc) {
			fp := p.(*fakeProc)
			fp.mu.Lock()
			seen = append([]os.Signal(nil), fp.signals...)
			fp.mu.Unlock()
			_ = p.Signal(syscall.SIGHUP) // a reload: the fake ignores nothing but dies on it
		}}
	p := stopAfterStart(s, fs)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(seen) != 0 || len(p.signals) == 0 || p.signals[0] != syscall.SIGHUP {
		t.Fatalf("signals before the hook %v, after %v: want the hook first", seen, p.signals)
	}
}

func TestSupervisorBackoffResetsAfterALongRun(t *testing.T) {
	fs := &fakeStarter{next: make(chan *fakeProc, 10)}
	s := &Supervisor{Name: "d", Start: fs.start, StopTimeout: time.Second,
		Backoff: Backoff{Min: 10 * time.Millisecond, Max: 10 * time.Second, ResetAfter: 30 * time.Millisecond}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	(<-fs.next).die(Exit{Code: 1}) // quick death: next delay doubles to 20ms
	p := <-fs.next
	time.Sleep(40 * time.Millisecond) // a long run: back to 10ms
	p.die(Exit{Code: 2})
	(<-fs.next).die(Exit{Code: 3})
	p = <-fs.next
	_ = p
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if g := fs.starts[2].Sub(fs.starts[1]); g > 40*time.Millisecond+200*time.Millisecond {
		t.Fatalf("delay after a long run = %s, want about Min", g)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSummarizeExit(t *testing.T) {
	for in, want := range map[string]string{
		"exit status 1; last output:\nStarting up\nfailed to start daemon: no space left on device\n": "exit status 1: failed to start daemon: no space left on device",
		"killed by SIGKILL": "killed by SIGKILL",
		"":                  "",
	} {
		if got := SummarizeExit(in); got != want {
			t.Errorf("SummarizeExit(%q) = %q, want %q", in, got, want)
		}
	}
}
