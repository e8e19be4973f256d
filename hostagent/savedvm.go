package hostagent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"os"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/vm"
)

// fastStart: `berth stop` stops the containers through the engine, the
// guest unmounts its shares, and the driver saves the VM (vm.Saver) with
// the engine still up; the next start restores it, mounts the shares
// again, sets the clock, and starts the containers the engine would have
// started at its own start (engine.StopForSave). Anything that fails on
// the way falls back to the usual stop, or to a boot.

// saveTimeout bounds a save: the containers' stop timeouts (the engine's
// default is 10 s each, in parallel) and writing the VM's memory.
const saveTimeout = 3 * time.Minute

// saveKey is what a saved VM must have been booted with beyond what the
// driver sees on its command line: the settings (the guest config comes
// from them), the image and the network link. "" when fastStart is off.
func saveKey(b *boot) string {
	if !b.settings.FastStart {
		return ""
	}
	version := ""
	if b.man != nil {
		version = b.man.Version
	}
	sum := sha256.Sum256([]byte(b.settings.Digest() + "\x00" + version + "\x00" + string(b.link.Link)))
	return hex.EncodeToString(sum[:])
}

// saveVM saves the VM instead of stopping it, when fastStart is on, the
// run ends by a stop, and the engine runs; it reports whether the VM is
// gone (saved). When it returns false the caller stops the VM as usual.
func (a *Agent) saveVM(d vm.Driver, b *boot) bool {
	s, ok := d.(vm.Saver)
	if !ok || saveKey(b) == "" || !a.ctl.stopping() {
		return false
	}
	select {
	case <-b.vmDone.done:
		return false
	default:
	}
	// Only a healthy machine: a degraded one (a share's daemon gone, an
	// engine restarting) gets the usual stop and a fresh boot.
	if st := a.snapshot(); st.State != api.StateRunning {
		return false
	}
	a.set(func(s *api.Status) { s.State, s.Phase = api.StateStopping, "saving" })
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	cli, err := engine.New(func(ctx context.Context) (net.Conn, error) {
		return b.network.DialGuest(ctx, guestconfig.DockerPort)
	})
	if err != nil {
		return false
	}
	defer cli.Close()
	resume, err := cli.StopForSave(ctx)
	if err != nil {
		a.log.Warn("fastStart: stopping the containers failed; stopping the VM instead", "err", err)
		return false
	}
	if err := writeResume(a.o.Machine.Path(store.ResumeFile), resume); err != nil {
		a.log.Warn("fastStart: recording the containers to start again", "err", err)
		return false
	}
	// Shares served over SFTP end here: the guest would mount them again
	// on the connections the agent makes anew.
	if b.sftp != nil {
		b.sftp.stop()
	}
	if err := a.guestClient().SetSharesMounted(ctx, false); err != nil {
		a.log.Warn("fastStart: the guest did not unmount its shares; stopping the VM instead", "err", err)
		return false
	}
	if err := s.Save(ctx); err != nil {
		select {
		case <-b.vmDone.done:
			a.log.Error("fastStart: saving the VM failed, and QEMU is gone", "err", err)
			return true
		default:
		}
		a.log.Warn("fastStart: saving the VM failed; stopping it instead", "err", err)
		return false
	}
	a.log.Info("VM saved for the next start", "seconds", time.Since(began).Seconds(), "restartLater", len(resume.IDs))
	return true
}

// afterRestore brings a restored guest up to date: the clock (it stood
// still since the save) and the shares, whose devices the driver plugged
// again. A share that does not mount is a warning, as at a boot.
func (a *Agent) afterRestore(ctx context.Context, b *boot) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := a.guestClient().SetClock(cctx, time.Now()); err != nil {
		a.log.Warn("setting the restored guest's clock", "err", err)
	}
	cancel()
	if len(b.shares.vm) == 0 {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.guestClient().SetSharesMounted(sctx, true); err != nil {
		a.log.Warn("mounting the shares in the restored guest", "err", err)
	}
}

// startAgain starts the containers the last save stopped and the engine
// would have started at its start, after a restore or the boot that
// replaced one; the list is used once.
func (a *Agent) startAgain(ctx context.Context, b *boot) {
	path := a.o.Machine.Path(store.ResumeFile)
	r, err := readResume(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			a.log.Warn("reading the containers to start again", "err", err)
			_ = os.Remove(path)
		}
		return
	}
	cli, err := engine.New(func(ctx context.Context) (net.Conn, error) {
		return b.network.DialGuest(ctx, guestconfig.DockerPort)
	})
	if err != nil {
		return
	}
	defer cli.Close()
	if err := cli.StartAgain(ctx, r); err != nil {
		a.log.Warn("starting containers again after the saved VM", "err", err)
	}
	if err := os.Remove(path); err != nil {
		a.log.Warn("removing the list of containers to start again", "err", err)
	}
	a.log.Info("containers started again", "count", len(r.IDs), "restored", b.restored)
}

func writeResume(path string, r engine.Resume) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o600)
}

func readResume(path string) (engine.Resume, error) {
	var r engine.Resume
	b, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(b, &r)
}
