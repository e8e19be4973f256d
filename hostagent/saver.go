package hostagent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/hostagent/bridge"
	"github.com/berth-dev/berth/vm"
)

// The resource saver (config resourceSaver.idle) pauses the VM (its CPUs
// stop, its memory stays) once the machine has been idle for the period:
// no container running, no request in flight through the docker socket,
// no shell, and no activity for that long. The places where the user
// reaches the guest (the docker socket bridge, the port forwards, the
// control API's shell and logs, the engine's metrics) call Wake before
// they carry anything, and Busy for what must not be paused under them;
// the agent's own background work takes a Hold, which never wakes the VM
// and is refused while it is paused.

// saverResumeTTL bounds one resume.
const saverResumeTTL = 10 * time.Second

// saverClock is the time the saver runs on; tests give it a fake.
type saverClock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) func() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

type saverState int

const (
	saverAwake saverState = iota
	saverPausing
	saverPaused
	saverResuming
	saverClosed
)

// saverHooks are what the saver does to the machine.
type saverHooks struct {
	pause, resume func(ctx context.Context) error
	// paused and resumed tell the agent (its status); resumed also syncs
	// the guest's clock and checks its health. Called without the lock,
	// in order.
	paused  func(since time.Time)
	resumed func()
}

// saver is the resource saver's state machine.
type saver struct {
	idle  time.Duration
	clock saverClock
	hooks saverHooks
	log   *slog.Logger

	mu    sync.Mutex
	state saverState
	since time.Time // paused since
	last  time.Time // last activity
	busy  int       // requests in flight that keep the VM awake
	holds int       // the agent's own calls to the guest in flight
	// running is the number of containers running; -1 until the engine's
	// list is known (nothing is paused before).
	running   int
	stopTimer func() bool
	closing   bool
	active    bool // from Start: the machine is up
	// changed is closed, and replaced, at the end of each pause or resume.
	changed chan struct{}
}

func newSaver(idle time.Duration, clock saverClock, hooks saverHooks, log *slog.Logger) *saver {
	s := &saver{idle: idle, clock: clock, hooks: hooks, log: log, running: -1, changed: make(chan struct{})}
	s.last = clock.Now()
	return s
}

// Start begins counting idle time: the machine is up.
func (s *saver) Start() {
	s.mu.Lock()
	s.active = true
	s.last = s.clock.Now()
	s.arm()
	s.mu.Unlock()
}

// arm sets the idle timer for what the state allows; under s.mu.
func (s *saver) arm() {
	if s.stopTimer != nil {
		s.stopTimer()
		s.stopTimer = nil
	}
	if !s.active || s.closing || s.state != saverAwake || s.busy > 0 || s.holds > 0 || s.running != 0 || s.idle <= 0 {
		return
	}
	s.stopTimer = s.clock.AfterFunc(max(s.last.Add(s.idle).Sub(s.clock.Now()), 0), s.expire)
}

// expire pauses the VM if it is still idle.
func (s *saver) expire() {
	s.mu.Lock()
	if s.closing || s.state != saverAwake || s.busy > 0 || s.holds > 0 || s.running != 0 {
		s.mu.Unlock()
		return
	}
	if now := s.clock.Now(); now.Sub(s.last) < s.idle {
		s.arm()
		s.mu.Unlock()
		return
	}
	s.state = saverPausing
	s.stopTimer = nil
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), saverResumeTTL)
	err := s.hooks.pause(ctx)
	cancel()
	if err != nil {
		// The pause may have stopped the CPUs and failed after (the run
		// state unreadable): whatever it did, the VM must run on.
		ctx, cancel := context.WithTimeout(context.Background(), saverResumeTTL)
		if rerr := s.hooks.resume(ctx); rerr != nil {
			s.log.Warn("resource saver: resuming after a failed pause", "err", rerr)
		}
		cancel()
	}

	s.mu.Lock()
	if err != nil {
		s.state = saverAwake
		s.last = s.clock.Now() // try again after another idle period
		s.log.Warn("resource saver: could not pause the VM; it keeps running", "err", err)
		s.transition()
		s.arm()
		s.mu.Unlock()
		return
	}
	s.since = s.clock.Now()
	since := s.since
	s.log.Info("resource saver: paused the VM", "idle", s.idle.String())
	s.mu.Unlock()
	// Reported while still pausing: a wake that comes meanwhile waits, and
	// resumes only after "paused" was said, so the events stay in order.
	s.hooks.paused(since)
	s.mu.Lock()
	s.state = saverPaused
	s.transition()
	s.mu.Unlock()
}

// transition wakes whoever waits for a pause or resume to end; under s.mu.
func (s *saver) transition() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Wake resumes the VM if it is paused (waiting for a pause under way to
// end first), and counts as activity. Concurrent wakes resume it once.
func (s *saver) Wake(ctx context.Context) error {
	s.mu.Lock()
	for {
		s.last = s.clock.Now()
		switch s.state {
		case saverAwake, saverClosed:
			s.arm()
			s.mu.Unlock()
			return nil
		case saverPausing, saverResuming:
			ch := s.changed
			s.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
			s.mu.Lock()
			continue
		case saverPaused:
		}
		s.state = saverResuming
		s.mu.Unlock()
		began := s.clock.Now()
		err := s.resumeVM(ctx)
		s.mu.Lock()
		if err != nil {
			s.state = saverPaused
			s.transition()
			s.mu.Unlock()
			return err
		}
		s.mu.Unlock()
		resumed := s.clock.Now()
		s.hooks.resumed()
		s.log.Info("resource saver: resumed the VM", "paused", began.Sub(s.since).String(),
			"resumeSeconds", resumed.Sub(began).Seconds(), "afterResumeSeconds", s.clock.Now().Sub(resumed).Seconds())
		s.mu.Lock()
		s.state = saverAwake
		s.last = s.clock.Now()
		s.transition()
		s.arm()
		s.mu.Unlock()
		return nil
	}
}

func (s *saver) resumeVM(ctx context.Context) error {
	// A caller that gives up must not leave a resume half done.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saverResumeTTL)
	defer cancel()
	if err := s.hooks.resume(ctx); err != nil {
		s.log.Error("resource saver: could not resume the VM", "err", err)
		return err
	}
	return nil
}

// Busy counts as activity and keeps the VM from being paused until done
// is called. It does not wake the VM: call Wake first.
func (s *saver) Busy() (done func()) {
	s.mu.Lock()
	s.busy++
	s.last = s.clock.Now()
	s.arm()
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.busy--
			s.last = s.clock.Now()
			s.arm()
			s.mu.Unlock()
		})
	}
}

// Hold is for the agent's own calls to the guest (health checks, the
// listener poll): it neither wakes the VM nor counts as activity, and is
// refused (ok false: skip the call) unless the VM is awake; while held the
// VM is not paused, so the call cannot hang on a pause.
func (s *saver) Hold() (release func(), ok bool) {
	if s == nil {
		return func() {}, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != saverAwake && s.state != saverClosed {
		return nil, false
	}
	s.holds++
	s.arm()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.holds--
			s.arm()
			s.mu.Unlock()
		})
	}, true
}

// SetRunning tells the saver how many containers run: any keeps the VM
// awake.
func (s *saver) SetRunning(n int) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if n != s.running { // a container started or stopped, or the list came
		s.last = s.clock.Now()
	}
	s.running = n
	s.arm()
	s.mu.Unlock()
}

// Paused reports whether the VM is paused (or being paused or resumed).
func (s *saver) Paused() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state != saverAwake && s.state != saverClosed
}

// Close stops pausing, and resumes a paused VM (waiting for a pause under
// way) so that it can be stopped cleanly.
func (s *saver) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	s.closing = true
	s.arm()
	s.mu.Unlock()
	err := s.Wake(context.Background())
	s.mu.Lock()
	if err == nil {
		s.state = saverClosed
	}
	s.mu.Unlock()
	return err
}

// newResourceSaver makes the saver of this run, unless the config turns it
// off or the driver cannot pause its VM. It starts counting once the
// machine is up (Start); its cleanup, run before the forwards, the bridge
// and the VM stop, resumes a paused VM so that it shuts down cleanly.
func (a *Agent) newResourceSaver(b *boot, cleanups *[]func()) {
	idle := b.settings.SaverIdle
	if idle <= 0 {
		a.log.Info("resource saver off (resourceSaver.idle is 0)")
		return
	}
	d := b.driver
	if _, ok := d.(vm.Pauser); !ok {
		a.log.Info("resource saver off: the driver cannot pause its VM", "driver", a.o.Driver)
		return
	}
	s := newSaver(idle, realClock{}, saverHooks{
		pause:  func(ctx context.Context) error { return vm.Pause(ctx, d) },
		resume: func(ctx context.Context) error { return vm.Resume(ctx, d) },
		paused: func(since time.Time) {
			a.set(func(st *api.Status) { st.State, st.PausedSince = api.StatePaused, since })
		},
		resumed: a.afterResume,
	}, a.log.With("component", "saver"))
	a.mu.Lock()
	a.saver = s
	a.mu.Unlock()
	*cleanups = append(*cleanups, a.closeSaver)
	a.log.Info("resource saver on", "idle", idle.String())
}

// closeSaver stops the resource saver, resuming a paused VM.
func (a *Agent) closeSaver() {
	if err := a.resourceSaver().Close(); err != nil {
		a.log.Warn("resource saver: the paused VM could not be resumed for the stop", "err", err)
	}
}

func (a *Agent) resourceSaver() *saver {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.saver
}

// waker is the hook the user's ways in call, nil when the saver is off.
func (a *Agent) waker() bridge.Waker {
	if s := a.resourceSaver(); s != nil {
		return s
	}
	return nil
}

// afterResume runs as the VM resumes, before the request that woke it is
// carried: it checks the guest's health at once, which also sets the
// guest's clock (it stood still while the VM was paused), and makes the
// machine running again; the forwards resync from the engine.
func (a *Agent) afterResume() {
	ctx, cancel := context.WithTimeout(context.Background(), guestRequestTTL)
	defer cancel()
	a.checkHealthWith(ctx, a.guestHealthAfterResume)
	a.mu.Lock()
	p := a.ports
	a.mu.Unlock()
	if p != nil {
		p.resyncSoon()
	}
}

// wakeFor resumes a paused VM for a user's request through the control
// API and keeps it awake until done; done is never nil.
func (a *Agent) wakeFor(ctx context.Context) (done func(), err error) {
	s := a.resourceSaver()
	if s == nil {
		return func() {}, nil
	}
	if err := s.Wake(ctx); err != nil {
		return func() {}, fmt.Errorf("resuming the VM: %w", err)
	}
	return s.Busy(), nil
}
