package initd

import (
	"fmt"
	"sync"
)

// Exit is how a process ended.
type Exit struct {
	Code   int    // exit code, when it exited
	Signal string // signal name, when a signal killed it
}

func (e Exit) String() string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// Success reports a zero exit code.
func (e Exit) Success() bool { return e.Signal == "" && e.Code == 0 }

// WaitAnyFunc collects one exited child without blocking (wait4(-1, WNOHANG)
// on Linux); ok is false when no child has exited.
type WaitAnyFunc func() (pid int, e Exit, ok bool)

// Reaper is PID 1's only caller of wait: every orphan of the system lands
// on PID 1 and must be collected, and a second waiter would steal the exit
// statuses of the children the init runs itself. Those are started through
// Start, which registers the pid under the same lock the reaper holds while
// it collects, so no exit can be collected before its owner is known.
type Reaper struct {
	waitAny WaitAnyFunc

	mu      sync.Mutex
	owners  map[int]chan Exit
	orphans int
}

// NewReaper returns a reaper that collects children with waitAny.
func NewReaper(waitAny WaitAnyFunc) *Reaper {
	return &Reaper{waitAny: waitAny, owners: map[int]chan Exit{}}
}

// Start runs start (which forks a child and returns its pid) and returns a
// channel that receives the child's exit.
func (r *Reaper) Start(start func() (pid int, err error)) (int, <-chan Exit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := start()
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan Exit, 1)
	r.owners[pid] = ch
	return pid, ch, nil
}

// Reap collects every exited child; call it on SIGCHLD (and now and then,
// should a signal be missed). It returns how many orphans it collected.
func (r *Reaper) Reap() (orphans int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		pid, e, ok := r.waitAny()
		if !ok {
			r.orphans += orphans
			return orphans
		}
		if ch, mine := r.owners[pid]; mine {
			delete(r.owners, pid)
			ch <- e
		} else {
			orphans++
		}
	}
}

// Orphans is the number of orphans collected so far.
func (r *Reaper) Orphans() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.orphans
}
