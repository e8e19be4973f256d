package hostagent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/vm"
)

// adoptable is a driver whose VM is running and can be adopted.
type adoptable struct {
	stopped, killed bool
}

func (d *adoptable) Start(context.Context) error { return nil }
func (d *adoptable) Stop(context.Context) error  { d.stopped = true; return nil }
func (d *adoptable) Kill() error                 { d.killed = true; return nil }
func (d *adoptable) Wait(context.Context) error  { return nil }
func (d *adoptable) Info() vm.Info               { return vm.Info{Driver: "fake", PID: 42} }
func (d *adoptable) Adopt(context.Context) error { return nil }
func (d *adoptable) RunningPID() (int, bool)     { return 42, !d.stopped && !d.killed }

var _ vm.Adopter = (*adoptable)(nil)

func TestAdoptChecksTheBootRecord(t *testing.T) {
	booted := bootRecord{ConfigDigest: "abc", Link: vm.LinkVhostUser}
	for _, tc := range []struct {
		name   string
		record *bootRecord
		want   bool
	}{
		{"same config and link", &booted, true},
		{"no record", nil, false},
		{"config changed", &bootRecord{ConfigDigest: "def", Link: vm.LinkVhostUser}, false},
		// A VM whose card speaks QEMU's stream netdev cannot be joined by
		// an agent that serves vhost-user, nor the other way round.
		{"link changed", &bootRecord{ConfigDigest: "abc", Link: vm.LinkStream}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := testAgent()
			a.o.Machine = store.Machine{Name: "default", Dir: t.TempDir()}
			if tc.record != nil {
				if err := writeBootRecord(a.o.Machine.Path(store.BootFile), *tc.record); err != nil {
					t.Fatal(err)
				}
			}
			d := &adoptable{}
			got, err := a.adopt(context.Background(), d, vm.Capabilities{SurvivesAgent: true}, booted)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("adopted %v, want %v", got, tc.want)
			}
			// A VM not adopted is powered off before a fresh boot.
			if !tc.want && !d.stopped {
				t.Fatal("the VM that was not adopted still runs")
			}
			if tc.want && (d.stopped || d.killed) {
				t.Fatal("the adopted VM was stopped")
			}
		})
	}
}

func TestNoAdoptionWhenTheVMDoesNotSurviveItsAgent(t *testing.T) {
	// A driver whose VM lives in the agent's process declares so: a VM the
	// driver still finds is not adopted, it is powered off.
	a := testAgent()
	a.o.Machine = store.Machine{Name: "default", Dir: t.TempDir()}
	booted := bootRecord{ConfigDigest: "abc"}
	if err := writeBootRecord(a.o.Machine.Path(store.BootFile), booted); err != nil {
		t.Fatal(err)
	}
	d := &adoptable{}
	got, err := a.adopt(context.Background(), d, vm.Capabilities{SurvivesAgent: false}, booted)
	if err != nil || got {
		t.Fatalf("adopted %v (%v), want a fresh boot", got, err)
	}
	if !d.stopped {
		t.Fatal("the VM that was not adopted still runs")
	}
}

// exitedVM is a driver whose VM has powered off.
type exitedVM struct{ adoptable }

func (d *exitedVM) Wait(context.Context) error { return nil }
func (d *exitedVM) RunningPID() (int, bool)    { return 0, false }

// When the VM exits on its own, the supervisor ends the run and the stop
// that follows asks nothing of the guest that is gone: it once spent 5 s
// on the guest agent and 30 s on the power button while a `berth start`
// waited for it.
func TestStopAfterTheVMExitedAsksNothing(t *testing.T) {
	a := testAgent()
	a.o.Machine = store.Machine{Name: "default", Dir: t.TempDir()}
	d := &exitedVM{}
	e := watchVM(d)
	if err := a.supervise(context.Background(), e); err == nil || !strings.Contains(err.Error(), "exited unexpectedly") {
		t.Fatalf("supervise: %v", err)
	}
	done := make(chan struct{})
	go func() { a.stopVM(d, e); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the stop of an exited VM waited on the guest")
	}
	if d.stopped || d.killed {
		t.Fatal("the stop asked an exited VM to power off")
	}
}
