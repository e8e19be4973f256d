package vz

import (
	"errors"
	"testing"
)

func over(w *vmStates) bool {
	select {
	case <-w.Done():
		return true
	default:
		return false
	}
}

func TestVMStatesLife(t *testing.T) {
	for _, c := range []struct {
		name    string
		states  []State
		over    bool
		final   State
		wantErr string // "" for nil
	}{
		{"clean power-off", []State{StateStarting, StateRunning, StateStopping, StateStopped}, true, StateStopped, ""},
		{"guest powers off", []State{StateStarting, StateRunning, StateStopped}, true, StateStopped, ""},
		{"running", []State{StateStarting, StateRunning}, false, StateRunning, ""},
		{"first state is not an end", []State{StateStopped}, false, StateStopped, ""},
		{"stopped before it ran", []State{StateStarting, StateStopped}, true, StateStopped, "the VM stopped before it ran"},
		{"internal error", []State{StateStarting, StateRunning, StateError}, true, StateError, errVMInternal.Error()},
		{"nothing after the end", []State{StateStarting, StateRunning, StateStopped, StateStarting, StateRunning}, true, StateStopped, ""},
	} {
		w := newVMStates()
		if w.State() != StateStopped {
			t.Fatalf("%s: initial state %s", c.name, w.State())
		}
		var lastOver bool
		for _, s := range c.states {
			lastOver = w.set(s)
		}
		if lastOver != c.over || over(w) != c.over {
			t.Errorf("%s: over = %v (done closed %v), want %v", c.name, lastOver, over(w), c.over)
		}
		if w.State() != c.final {
			t.Errorf("%s: state %s, want %s", c.name, w.State(), c.final)
		}
		switch err := w.Err(); {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: Err = %v, want nil", c.name, err)
		case c.wantErr != "" && (err == nil || err.Error() != c.wantErr):
			t.Errorf("%s: Err = %v, want %q", c.name, err, c.wantErr)
		}
	}
}

func TestVMStatesFail(t *testing.T) {
	boom := errors.New("start: invalid configuration")
	w := newVMStates()
	w.set(StateStarting)
	w.fail(boom)
	if !over(w) || !errors.Is(w.Err(), boom) || w.State() != StateError {
		t.Fatalf("after fail: over %v, err %v, state %s", over(w), w.Err(), w.State())
	}
	// The notification that follows changes nothing.
	if !w.set(StateStopped) || !errors.Is(w.Err(), boom) {
		t.Fatalf("a late notification replaced the start error: %v", w.Err())
	}
	// A failure after a clean end does not rewrite it.
	w = newVMStates()
	w.set(StateRunning)
	w.set(StateStopped)
	w.fail(boom)
	if w.Err() != nil {
		t.Fatalf("fail after the end: Err = %v", w.Err())
	}
}
