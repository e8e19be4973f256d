package hostagent

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock runs the saver's timers when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves the clock on and runs, in this goroutine, each timer that
// came due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool {
		if t.stopped {
			return true
		}
		if !t.at.After(c.now) {
			t.stopped = true
			due = append(due, t)
			return true
		}
		return false
	})
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// pending is the number of timers armed.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}

// fakeMachine records what the saver did to it.
type fakeMachine struct {
	mu       sync.Mutex
	calls    []string
	pauseErr error
	// gate, when set, holds a pause or resume until it is closed.
	gate    chan struct{}
	entered chan string
	// saying, when set, holds the "paused" report until it is closed.
	saying chan struct{}
}

func (m *fakeMachine) hooks() saverHooks {
	op := func(name string, err *error) func(context.Context) error {
		return func(context.Context) error {
			m.mu.Lock()
			gate, entered := m.gate, m.entered
			m.mu.Unlock()
			if entered != nil {
				entered <- name
			}
			if gate != nil {
				<-gate
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			m.calls = append(m.calls, name)
			if err != nil && *err != nil {
				return *err
			}
			return nil
		}
	}
	return saverHooks{
		pause:  op("pause", &m.pauseErr),
		resume: op("resume", nil),
		paused: func(time.Time) {
			m.mu.Lock()
			saying := m.saying
			m.mu.Unlock()
			if saying != nil {
				<-saying
			}
			m.mu.Lock()
			m.calls = append(m.calls, "status paused")
			m.mu.Unlock()
		},
		resumed: func() {
			m.mu.Lock()
			m.calls = append(m.calls, "status running")
			m.mu.Unlock()
		},
	}
}

func (m *fakeMachine) got() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.calls)
}

func testSaver(t *testing.T, idle time.Duration) (*saver, *fakeClock, *fakeMachine) {
	t.Helper()
	c, m := newFakeClock(), &fakeMachine{}
	s := newSaver(idle, c, m.hooks(), slog.New(slog.DiscardHandler))
	s.Start()
	return s, c, m
}

func wantCalls(t *testing.T, m *fakeMachine, want ...string) {
	t.Helper()
	if got := m.got(); !slices.Equal(got, want) {
		t.Fatalf("the machine was asked %q, want %q", got, want)
	}
}

func TestSaverPausesAfterIdle(t *testing.T) {
	c, m := newFakeClock(), &fakeMachine{}
	s := newSaver(5*time.Minute, c, m.hooks(), slog.New(slog.DiscardHandler))
	s.SetRunning(0)
	c.Advance(time.Hour)
	wantCalls(t, m) // the machine is not up yet
	s.Start()
	s.SetRunning(-1)
	c.Advance(time.Hour)
	wantCalls(t, m) // the container list is not known yet
	s.SetRunning(0)
	c.Advance(5*time.Minute - time.Second)
	wantCalls(t, m)
	c.Advance(time.Second)
	wantCalls(t, m, "pause", "status paused")
	if !s.Paused() {
		t.Fatal("not paused")
	}
	since := c.Now()
	c.Advance(time.Hour)
	wantCalls(t, m, "pause", "status paused") // paused once
	if s.since != since {
		t.Errorf("paused since %s, want %s", s.since, since)
	}
	if err := s.Wake(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, m, "pause", "status paused", "resume", "status running")
	if s.Paused() {
		t.Fatal("still paused after a wake")
	}
	// And again after another idle period.
	c.Advance(5 * time.Minute)
	wantCalls(t, m, "pause", "status paused", "resume", "status running", "pause", "status paused")
}

func TestSaverActivityResets(t *testing.T) {
	s, c, m := testSaver(t, time.Minute)
	s.SetRunning(0)
	for range 5 {
		c.Advance(50 * time.Second)
		if err := s.Wake(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	done := s.Busy()
	done()
	c.Advance(59 * time.Second)
	wantCalls(t, m)
	c.Advance(time.Second)
	wantCalls(t, m, "pause", "status paused")
}

func TestSaverRunningContainerBlocks(t *testing.T) {
	s, c, m := testSaver(t, time.Minute)
	s.SetRunning(2)
	c.Advance(time.Hour)
	wantCalls(t, m)
	if c.pending() != 0 {
		t.Errorf("%d timers armed while a container runs", c.pending())
	}
	// The last container stops: the idle period starts from its stop.
	s.SetRunning(0)
	c.Advance(59 * time.Second)
	wantCalls(t, m)
	c.Advance(time.Second)
	wantCalls(t, m, "pause", "status paused")
}

func TestSaverInFlightRequestBlocks(t *testing.T) {
	s, c, m := testSaver(t, time.Minute)
	s.SetRunning(0)
	done := s.Busy()
	c.Advance(time.Hour) // a long docker build
	wantCalls(t, m)
	done()
	done() // twice is once
	c.Advance(59 * time.Second)
	wantCalls(t, m)
	c.Advance(time.Second)
	wantCalls(t, m, "pause", "status paused")
}

// The agent's own calls hold the VM awake while they run, without
// counting as activity, and are refused while it is paused.
func TestSaverHold(t *testing.T) {
	s, c, m := testSaver(t, time.Minute)
	s.SetRunning(0)
	release, ok := s.Hold()
	if !ok {
		t.Fatal("hold refused while awake")
	}
	c.Advance(2 * time.Minute)
	wantCalls(t, m)
	release()
	// Not activity: the idle period had passed; it pauses at once.
	c.Advance(0)
	wantCalls(t, m, "pause", "status paused")
	if _, ok := s.Hold(); ok {
		t.Fatal("hold granted while paused")
	}
	wantCalls(t, m, "pause", "status paused") // and it did not wake it
}

// A wake that comes while the pause runs waits for it, then resumes.
func TestSaverWakeWhilePausing(t *testing.T) {
	s, c, m := testSaver(t, time.Minute)
	s.SetRunning(0)
	m.gate, m.entered = make(chan struct{}), make(chan string, 4)
	expired := make(chan struct{})
	go func() { c.Advance(time.Minute); close(expired) }()
	if op := <-m.entered; op != "pause" {
		t.Fatalf("%s, want a pause", op)
	}
	woke := make(chan error, 1)
	go func() { woke <- s.Wake(context.Background()) }()
	select {
	case err := <-woke:
		t.Fatalf("the wake returned (%v) before the pause ended", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(m.gate)
	<-expired
	if err := <-woke; err != nil {
		t.Fatal(err)
	}
	wantCalls(t, m, "pause", "status paused", "resume", "status running")
}

// A wake that comes while "paused" is being reported resumes after it:
// the status never ends paused on a running VM.
func TestSaverWakeWhileReportingPaused(t *testing.T) {
	s, c, m := testSaver(t, time.Minute)
	s.SetRunning(0)
	m.saying = make(chan struct{})
	expired := make(chan struct{})
	go func() { c.Advance(time.Minute); close(expired) }()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(m.got(), []string{"pause"}) {
		if time.Now().After(deadline) {
			t.Fatalf("no pause: %q", m.got())
		}
		time.Sleep(time.Millisecond)
	}
	woke := make(chan error, 1)
	go func() { woke <- s.Wake(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	wantCalls(t, m, "pause") // the wake waits
	close(m.saying)
	<-expired
	if err := <-woke; err != nil {
		t.Fatal(err)
	}
	wantCalls(t, m, "pause", "status paused", "resume", "status running")
}

func TestSaverConcurrentWakesResumeOnce(t *testing.T) {
	s, c, m := testSaver(t, time.Minute)
	s.SetRunning(0)
	c.Advance(time.Minute)
	m.mu.Lock()
	m.gate, m.entered = make(chan struct{}), make(chan string, 16)
	m.mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() { errs <- s.Wake(context.Background()) })
	}
	<-m.entered
	time.Sleep(20 * time.Millisecond) // the others are waiting
	close(m.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	wantCalls(t, m, "pause", "status paused", "resume", "status running")
}

// A wake whose caller gives up while waiting returns its context's error.
func TestSaverWakeGivesUp(t *testing.T) {
	s, c, m := testSaver(t, time.Minute)
	s.SetRunning(0)
	m.gate, m.entered = make(chan struct{}), make(chan string, 4)
	go c.Advance(time.Minute)
	<-m.entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Wake(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wake = %v, want the deadline", err)
	}
	close(m.gate)
}

func TestSaverPauseFailureKeepsRunning(t *testing.T) {
	c, m := newFakeClock(), &fakeMachine{pauseErr: errors.New("the monitor is gone")}
	var logs syncBuffer
	s := newSaver(time.Minute, c, m.hooks(), slog.New(slog.NewTextHandler(&logs, nil)))
	s.Start()
	s.SetRunning(0)
	c.Advance(time.Minute)
	wantCalls(t, m, "pause", "resume") // whatever the pause did, it runs
	if s.Paused() {
		t.Fatal("paused after a failed pause")
	}
	if !strings.Contains(logs.String(), "could not pause the VM") || !strings.Contains(logs.String(), "the monitor is gone") {
		t.Errorf("the failure is not logged:\n%s", logs.String())
	}
	if release, ok := s.Hold(); !ok {
		t.Error("hold refused after a failed pause")
	} else {
		release()
	}
	// Tried again after another idle period, not in a loop.
	c.Advance(59 * time.Second)
	wantCalls(t, m, "pause", "resume")
	c.Advance(time.Second)
	wantCalls(t, m, "pause", "resume", "pause", "resume")
}

func TestSaverOffAndClose(t *testing.T) {
	s, c, m := testSaver(t, 0)
	s.SetRunning(0)
	c.Advance(24 * time.Hour)
	wantCalls(t, m)

	s, c, m = testSaver(t, time.Minute)
	s.SetRunning(0)
	c.Advance(time.Minute)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, m, "pause", "status paused", "resume", "status running")
	c.Advance(time.Hour)
	wantCalls(t, m, "pause", "status paused", "resume", "status running") // closed: never again
	if c.pending() != 0 {
		t.Errorf("%d timers armed after Close", c.pending())
	}
}

// A forwarded connection wakes the VM before it is dialled and keeps it
// awake until it closes, with its half-close kept (netpipe needs it).
func TestGuestNetWakesForwards(t *testing.T) {
	s, c, m := testSaver(t, time.Minute)
	s.SetRunning(0)
	c.Advance(time.Minute)
	wantCalls(t, m, "pause", "status paused")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	g := guestNet{waker: s}
	var dialled []string
	conn, err := g.awake(context.Background(), func() (net.Conn, error) {
		dialled = m.got()
		return net.Dial("tcp", ln.Addr().String())
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pause", "status paused", "resume", "status running"}; !slices.Equal(dialled, want) {
		t.Fatalf("dialled after %q, want after %q", dialled, want)
	}
	if _, ok := conn.(interface{ CloseWrite() error }); !ok {
		t.Fatal("the forwarded connection lost its half-close")
	}
	c.Advance(time.Hour)
	wantCalls(t, m, "pause", "status paused", "resume", "status running") // open: awake
	conn.Close()
	conn.Close()
	c.Advance(time.Minute)
	wantCalls(t, m, "pause", "status paused", "resume", "status running", "pause", "status paused")

	// A connection without a half-close does not grow one; a failed dial
	// holds nothing.
	a, b := net.Pipe()
	defer b.Close()
	conn, err = g.awake(context.Background(), func() (net.Conn, error) { return a, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := conn.(interface{ CloseWrite() error }); ok {
		t.Error("a pipe grew a half-close")
	}
	conn.Close()
	if _, err := g.awake(context.Background(), func() (net.Conn, error) { return nil, errors.New("refused") }); err == nil {
		t.Fatal("a failed dial succeeded")
	}
	c.Advance(time.Minute)
	if n := len(m.got()); n != 10 {
		t.Errorf("the machine was asked %q; want it paused again after the pipe closed and the failed dial", m.got())
	}
}
