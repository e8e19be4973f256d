package portfwd

import (
	"io"
	"sync"
)

// Opener opens the host side of a forward. The returned Closer stops it:
// the listener closes and connections in flight are closed.
type Opener interface {
	Open(f Forward) (io.Closer, error)
}

// Reconciler keeps the open forwards equal to the desired ones. Apply is
// cheap when nothing changed; the caller runs it on every input change and
// periodically, which retries failed forwards (a host port that frees up).
type Reconciler struct {
	open     Opener
	onChange func(Forward)

	mu     sync.Mutex
	active map[string]*entry
}

type entry struct {
	f Forward
	c io.Closer // nil when failed
}

// NewReconciler returns a reconciler that opens forwards with open and
// reports every change of a forward (opened, failed, closed, retargeted)
// to onChange, which may be nil. onChange is called with no lock held.
func NewReconciler(open Opener, onChange func(Forward)) *Reconciler {
	if onChange == nil {
		onChange = func(Forward) {}
	}
	return &Reconciler{open: open, onChange: onChange, active: map[string]*entry{}}
}

// Apply closes forwards that are no longer desired or whose target
// changed, opens the missing ones, and retries the failed ones.
func (r *Reconciler) Apply(desired []Forward) {
	var changed []Forward
	r.mu.Lock()
	want := make(map[string]Forward, len(desired))
	for _, f := range desired {
		want[f.Key()] = f
	}
	for k, e := range r.active {
		if w, ok := want[k]; ok && w.sameTarget(e.f) {
			continue
		}
		changed = append(changed, r.closeLocked(k, e))
	}
	for _, f := range desired {
		e, ok := r.active[f.Key()]
		switch {
		case ok && e.c != nil:
			if meta(e.f) != meta(f) { // same listener, other owner (a container recreated)
				f.State = StateActive
				e.f = f
				changed = append(changed, f)
			}
		case ok: // failed: retry; report only a change of reason or success
			nf := r.openLocked(f)
			if nf.State != StateFailed || nf.Reason != e.f.Reason || meta(nf) != meta(e.f) {
				changed = append(changed, nf)
			}
		default:
			changed = append(changed, r.openLocked(f))
		}
	}
	r.mu.Unlock()
	for _, f := range changed {
		r.onChange(f)
	}
}

// meta is what identifies a forward's owner, apart from its listener.
func meta(f Forward) [4]string {
	return [4]string{string(f.Source), f.Container, f.ContainerID, f.Spec}
}

func (r *Reconciler) openLocked(f Forward) Forward {
	c, err := r.open.Open(f)
	if err != nil {
		f.State, f.Reason = StateFailed, err.Error()
	} else {
		f.State, f.Reason = StateActive, ""
	}
	r.active[f.Key()] = &entry{f: f, c: c}
	return f
}

func (r *Reconciler) closeLocked(k string, e *entry) Forward {
	if e.c != nil {
		_ = e.c.Close()
	}
	delete(r.active, k)
	f := e.f
	f.State, f.Reason = StateClosed, ""
	return f
}

// List returns every forward the reconciler holds, active or failed.
func (r *Reconciler) List() []Forward {
	r.mu.Lock()
	out := make([]Forward, 0, len(r.active))
	for _, e := range r.active {
		out = append(out, e.f)
	}
	r.mu.Unlock()
	Sort(out)
	return out
}

// Failed reports whether any forward waits for a retry.
func (r *Reconciler) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.active {
		if e.c == nil {
			return true
		}
	}
	return false
}

// Close closes every forward.
func (r *Reconciler) Close() {
	r.Apply(nil)
}
