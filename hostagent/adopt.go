package hostagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/vm"
)

// bootRecord is what the agent that booted the VM leaves for the next one:
// the config the VM runs with and how its card links to the network.
type bootRecord struct {
	ConfigDigest string  `json:"configDigest"`
	Link         vm.Link `json:"link,omitempty"`
}

func writeBootRecord(path string, r bootRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

func readBootRecord(path string) (bootRecord, error) {
	var r bootRecord
	b, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(b, &r)
}

// adopt takes over a VM that an agent which died left running, so its
// containers live on: the driver attaches to it, and the agent joins its
// network and resyncs everything else (forwards, health) from the guest.
// A VM that cannot be adopted (the driver cannot, its record is gone, or
// the config changed since it booted: `berth start` then applies the new
// one) is powered off, and the caller boots afresh.
func (a *Agent) adopt(ctx context.Context, d vm.Driver, caps vm.Capabilities, want bootRecord) (bool, error) {
	if !caps.SurvivesAgent {
		return false, a.reapOrphan(d)
	}
	err := vm.Adopt(ctx, d)
	if errors.Is(err, vm.ErrUnsupported) {
		return false, a.reapOrphan(d)
	}
	if errors.Is(err, vm.ErrNotRunning) {
		return false, nil
	}
	if err == nil {
		rec, rerr := readBootRecord(a.o.Machine.Path(store.BootFile))
		switch {
		case rerr != nil:
			err = fmt.Errorf("no record of its boot: %w", rerr)
		case rec.ConfigDigest != want.ConfigDigest:
			err = errors.New("the config changed since it booted")
		case rec.Link != want.Link:
			err = fmt.Errorf("its network link is %q, this agent's is %q", rec.Link, want.Link)
		default:
			a.log.Info("adopted the VM an earlier agent left running", "pid", d.Info().PID)
			return true, nil
		}
	}
	a.log.Warn("not adopting the running VM", "reason", err)
	return false, a.reapOrphan(d)
}

// reapOrphan deals with a VM left running by an agent that died and that
// is not adopted: it is asked to power off (its disks stay consistent),
// then killed.
func (a *Agent) reapOrphan(d vm.Driver) error {
	pid, err := vm.RunningPID(d)
	if errors.Is(err, vm.ErrUnsupported) || errors.Is(err, vm.ErrNotRunning) {
		return nil
	}
	a.log.Warn("a VM from an earlier agent is still running; powering it off", "pid", pid)
	// One its agent's resource saver left paused would ignore the power
	// button; resuming a running one changes nothing.
	rctx, rcancel := context.WithTimeout(context.Background(), saverResumeTTL)
	if err := vm.Resume(rctx, d); err != nil && !errors.Is(err, vm.ErrUnsupported) {
		a.log.Debug("resuming the orphaned VM before its power-off", "err", err)
	}
	rcancel()
	ctx, cancel := context.WithTimeout(context.Background(), acpiStopWait)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		a.log.Warn("orphaned VM did not power off; killing it", "pid", pid, "err", err)
		if err := d.Kill(); err != nil {
			return fmt.Errorf("an orphaned VM (pid %d) could not be stopped: %w", pid, err)
		}
	}
	return nil
}
