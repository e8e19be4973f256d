package vz

import (
	"errors"
	"sync"
)

// vmStates follows one VM's life from the framework's state-changed
// notifications (translated to State) to its end: it answers State, and
// closes Done with the reason in Err. vz_darwin.go feeds it; it is apart
// so that the life it describes is tested on any OS.
type vmStates struct {
	mu    sync.Mutex
	state State
	begun bool // a state other than stopped was seen
	ran   bool // running was seen
	err   error
	done  chan struct{}
}

func newVMStates() *vmStates {
	return &vmStates{state: StateStopped, done: make(chan struct{})}
}

// errVMInternal: the framework put the VM in its error state.
var errVMInternal = errors.New("the VM stopped on an internal error of Virtualization.framework")

// set records a state notification and reports whether the VM's life is
// over (stopped after it began, or in error). A stopped before anything
// else is the VM's first state, not an end.
func (w *vmStates) set(s State) (over bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.overLocked() {
		return true
	}
	w.state = s
	switch s {
	case StateStopped:
		if !w.begun {
			return false
		}
		var err error
		if !w.ran {
			err = errors.New("the VM stopped before it ran")
		}
		w.endLocked(err)
		return true
	case StateError:
		w.endLocked(errVMInternal)
		return true
	case StateRunning:
		w.ran = true
	}
	w.begun = true
	return false
}

// fail ends the VM's life with err (its start failed), unless it is over.
func (w *vmStates) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.overLocked() {
		w.state = StateError
		w.endLocked(err)
	}
}

func (w *vmStates) endLocked(err error) {
	w.err = err
	close(w.done)
}

func (w *vmStates) overLocked() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func (w *vmStates) State() State {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state
}

func (w *vmStates) Done() <-chan struct{} { return w.done }

// Err is why the VM stopped, nil for a clean power-off or while it runs.
func (w *vmStates) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
