package initd

import (
	"errors"
	"sync"
	"testing"
)

// fakeKernel plays the kernel's side of wait4(-1, WNOHANG).
type fakeKernel struct {
	mu     sync.Mutex
	exited []int
}

func (k *fakeKernel) exit(pid int) { k.mu.Lock(); k.exited = append(k.exited, pid); k.mu.Unlock() }

func (k *fakeKernel) waitAny() (int, Exit, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.exited) == 0 {
		return 0, Exit{}, false
	}
	pid := k.exited[0]
	k.exited = k.exited[1:]
	return pid, Exit{Code: pid % 7}, true
}

func TestReaperDispatchesOwnChildrenAndCountsOrphans(t *testing.T) {
	k := &fakeKernel{}
	r := NewReaper(k.waitAny)
	pid, ch, err := r.Start(func() (int, error) { return 10, nil })
	if err != nil || pid != 10 {
		t.Fatal(pid, err)
	}
	k.exit(77) // an orphan re-parented to PID 1
	k.exit(10)
	k.exit(78)
	if n := r.Reap(); n != 2 {
		t.Fatalf("Reap collected %d orphans, want 2", n)
	}
	select {
	case e := <-ch:
		if e.Code != 3 {
			t.Fatalf("exit %v, want code 3", e)
		}
	default:
		t.Fatal("own child's exit not dispatched")
	}
	if r.Orphans() != 2 {
		t.Fatalf("Orphans() = %d", r.Orphans())
	}
}

// A child that exits before Start has registered it must still reach its
// owner: Reap waits for Start's lock.
func TestReaperNoLostExitDuringStart(t *testing.T) {
	k := &fakeKernel{}
	r := NewReaper(k.waitAny)
	reaped := make(chan int)
	_, ch, err := r.Start(func() (int, error) {
		k.exit(42) // the child dies at once...
		go func() { reaped <- r.Reap() }()
		return 42, nil // ...while a SIGCHLD-driven Reap races us
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := <-reaped; n != 0 {
		t.Fatalf("the child was counted as an orphan")
	}
	if e := <-ch; e.Code != 0 {
		t.Fatalf("exit %v", e)
	}
}

func TestReaperStartError(t *testing.T) {
	r := NewReaper((&fakeKernel{}).waitAny)
	if _, _, err := r.Start(func() (int, error) { return 0, errors.New("fork failed") }); err == nil {
		t.Fatal("error lost")
	}
}
