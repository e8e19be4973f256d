package qemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/vm"
)

// A saved VM is QEMU's migration stream of a stopped VM in a file of the
// machine's directory, and a record of what it is valid for. The record
// is written last and removed first: a state file without it is never
// restored.
const (
	savedStateFile = "saved-vm.state"
	savedMetaFile  = "saved-vm.json"
	// savedRAMFile is the guest's RAM, written from QEMU's memfd: a sparse
	// file of the memfd's size with only its non-zero pages.
	savedRAMFile = "saved-vm.ram"
)

var _ vm.Saver = (*Driver)(nil)

// savedVM is the record of a saved VM.
type savedVM struct {
	// Key is keyFor the boot that made the VM.
	Key   string `json:"key"`
	Accel string `json:"accel"`
	// Disks are the writable disks as QEMU left them: a restore needs
	// every one unchanged.
	Disks []diskID `json:"disks"`
	Size  int64    `json:"size"`
	// RAM is the bytes of RAM saved in savedRAMFile; 0 when the RAM is
	// in QEMU's stream (it was not in a memfd).
	RAM     int64     `json:"ram,omitempty"`
	SavedAt time.Time `json:"savedAt"`
}

// diskID tells a file from a changed or replaced one: any write changes
// its ctime, which no one can set back.
type diskID struct {
	Path  string `json:"path"`
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"`
	Ctime int64  `json:"ctime"`
}

func identify(path string) (diskID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return diskID{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return diskID{Path: path, Dev: st.Dev, Ino: st.Ino, Size: st.Size,
		Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}, nil
}

// keyFor is what a VM booted now with accel is: the machine's SaveKey, the
// QEMU binary, the command line and the read-only files it boots from. ""
// when the machine has no SaveKey.
func (d *Driver) keyFor(accel, shareMode string) string {
	if d.m.SaveKey == "" {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "key %s\naccel %s\n", d.m.SaveKey, accel)
	files := []string{d.binary, d.m.Kernel}
	for _, disk := range d.m.Disks {
		if disk.ReadOnly {
			files = append(files, disk.Path)
		}
	}
	for _, f := range files {
		id, err := identify(f)
		if err != nil {
			return ""
		}
		id.Ctime = 0 // a copy or an unpack may touch it; its content did not change
		fmt.Fprintf(h, "file %+v\n", id)
	}
	fmt.Fprintf(h, "args %s\n", strings.Join(d.args(accel, shareMode, true), "\x00"))
	return hex.EncodeToString(h.Sum(nil))
}

func (d *Driver) savedPaths() (state, meta string) {
	return filepath.Join(d.m.StateDir, savedStateFile), filepath.Join(d.m.StateDir, savedMetaFile)
}

func (d *Driver) savedRAM() string { return filepath.Join(d.m.StateDir, savedRAMFile) }

// Restored implements vm.Saver.
func (d *Driver) Restored() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.restored
}

// DiscardSaved implements vm.Saver.
func (d *Driver) DiscardSaved() error {
	state, meta := d.savedPaths()
	var errs []error
	ram := d.savedRAM()
	for _, f := range []string{meta, state, state + ".tmp", ram, ram + ".tmp"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Save implements vm.Saver: the shares' devices are unplugged (the guest
// has unmounted them), the VM is stopped, its state written to the
// machine's directory, and QEMU quits; the record comes last.
func (d *Driver) Save(ctx context.Context) error {
	d.mu.Lock()
	key, accel, cmd, exited := d.saveKey, d.info.Accelerator, d.cmd, d.exited
	d.mu.Unlock()
	if key == "" || cmd == nil {
		return fmt.Errorf("%w: the VM was not booted by this agent with a save key", vm.ErrUnsupported)
	}
	select {
	case <-exited:
		return vm.ErrNotRunning
	default:
	}
	if err := d.DiscardSaved(); err != nil {
		return err
	}
	s, err := dialQMP(ctx, d.files.QMP)
	if err != nil {
		return err
	}
	defer s.Close()
	if d.Info().FileSharing == shareVirtiofs {
		for _, dev := range shareDevices(d.m) {
			if err := unplug(ctx, s, dev.id()); err != nil {
				return fmt.Errorf("unplugging shared folder %s: %w (the VM runs on, without it)", dev.id(), err)
			}
		}
	}
	state, meta := d.savedPaths()
	f, err := os.OpenFile(state+".tmp", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := s.exec("stop", nil); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := migrateTo(ctx, s, f); err != nil {
		os.Remove(f.Name())
		if _, cerr := s.exec("cont", nil); cerr != nil {
			return fmt.Errorf("saving the VM: %w; and it does not run again: %w", err, cerr)
		}
		return fmt.Errorf("saving the VM: %w (the VM runs on)", err)
	}
	ramBytes, err := d.saveRAM(cmd.Process.Pid)
	if err != nil {
		os.Remove(f.Name())
		if _, cerr := s.exec("cont", nil); cerr != nil {
			return fmt.Errorf("saving the VM's RAM: %w; and it does not run again: %w", err, cerr)
		}
		return fmt.Errorf("saving the VM's RAM: %w (the VM runs on)", err)
	}
	if _, err := s.exec("quit", nil); err != nil && !isClosedConn(err) {
		d.log.Warn("QEMU quit", "err", err)
	}
	select {
	case <-exited:
	case <-ctx.Done():
		d.killChild()
		os.Remove(f.Name())
		return fmt.Errorf("QEMU did not quit after the save: %w", ctx.Err())
	}
	if err := f.Sync(); err != nil {
		os.Remove(f.Name())
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	rec := savedVM{Key: key, Accel: accel, Size: fi.Size(), RAM: ramBytes, SavedAt: time.Now().UTC()}
	for _, disk := range d.m.Disks {
		if disk.ReadOnly {
			continue
		}
		id, err := identify(disk.Path)
		if err != nil {
			os.Remove(f.Name())
			return err
		}
		rec.Disks = append(rec.Disks, id)
	}
	if err := os.Rename(f.Name(), state); err != nil {
		os.Remove(f.Name())
		return err
	}
	if ramBytes > 0 {
		if err := os.Rename(d.savedRAM()+".tmp", d.savedRAM()); err != nil {
			return err
		}
	}
	if err := writeJSONFile(meta, rec); err != nil {
		os.Remove(state)
		return err
	}
	d.cleanFiles()
	d.log.Info("VM saved", "bytes", rec.Size, "ramBytes", rec.RAM, "path", state)
	return nil
}

// unplug removes a device and waits until the guest let it go.
func unplug(ctx context.Context, s *qmpSession, id string) error {
	if _, err := s.exec("device_del", map[string]any{"id": id}); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return s.waitEvent(wctx, "DEVICE_DELETED", func(data json.RawMessage) bool {
		var ev struct {
			Device string `json:"device"`
		}
		return json.Unmarshal(data, &ev) == nil && ev.Device == id
	})
}

// migrateTo writes the stopped VM's migration stream to f, handed to QEMU
// over the monitor socket (SCM_RIGHTS).
func migrateTo(ctx context.Context, s *qmpSession, f *os.File) error {
	if err := sendFD(s, "berth-save", f); err != nil {
		return err
	}
	if err := ignoreSharedRAM(s); err != nil {
		return err
	}
	// No bandwidth limit: the VM is stopped and the stream goes to a file.
	if _, err := s.exec("migrate-set-parameters", map[string]any{"max-bandwidth": int64(1) << 40}); err != nil {
		return err
	}
	if _, err := s.exec("migrate", map[string]any{"uri": "fd:berth-save"}); err != nil {
		return err
	}
	for {
		out, err := s.exec("query-migrate", nil)
		if err != nil {
			return err
		}
		var st struct {
			Status    string `json:"status"`
			ErrorDesc string `json:"error-desc"`
		}
		if err := json.Unmarshal(out, &st); err != nil {
			return err
		}
		switch st.Status {
		case "completed":
			return nil
		case "failed", "cancelled":
			return fmt.Errorf("migration %s: %s", st.Status, st.ErrorDesc)
		}
		select {
		case <-ctx.Done():
			_, _ = s.exec("migrate_cancel", nil)
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func isClosedConn(err error) bool {
	return err != nil && (errors.Is(err, os.ErrClosed) || strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "connection reset"))
}

// tryRestore restores the saved VM when its record matches this boot; it
// reports whether it did. A record that does not match is discarded (why
// is logged); a restore that fails leaves the VM killed and the state
// gone, and the caller boots.
func (d *Driver) tryRestore(ctx context.Context, cands []string) bool {
	state, meta := d.savedPaths()
	b, err := os.ReadFile(meta)
	if errors.Is(err, fs.ErrNotExist) {
		_ = os.Remove(state) // a state without its record is never used
		return false
	}
	if err := d.checkSaved(b, err, cands); err != nil {
		d.log.Info("not restoring the saved VM; booting", "reason", err.Error())
		if derr := d.DiscardSaved(); derr != nil {
			d.log.Warn("removing the saved VM", "err", derr)
		}
		return false
	}
	var rec savedVM
	_ = json.Unmarshal(b, &rec)
	// Used once: the record and the state's name are gone before the
	// restored guest runs, so a later start cannot meet them again.
	f, err := os.Open(state)
	if err != nil {
		d.log.Warn("not restoring the saved VM; booting", "err", err)
		_ = d.DiscardSaved()
		return false
	}
	defer f.Close()
	var ram *os.File
	if rec.RAM > 0 {
		if ram, err = os.Open(d.savedRAM()); err != nil {
			d.log.Warn("not restoring the saved VM; booting", "err", err)
			_ = d.DiscardSaved()
			return false
		}
		defer ram.Close()
	}
	if err := d.DiscardSaved(); err != nil {
		d.log.Warn("could not remove the saved VM; booting", "err", err)
		return false
	}
	syncDir(d.m.StateDir)
	began := time.Now()
	if err := d.restore(ctx, rec.Accel, f, ram); err != nil {
		d.log.Warn("restoring the saved VM failed; booting", "err", err)
		d.killChild()
		return false
	}
	d.mu.Lock()
	d.restored = true
	d.info.Accelerator = rec.Accel
	d.mu.Unlock()
	d.log.Info("saved VM restored", "seconds", time.Since(began).Seconds(), "bytes", rec.Size, "savedAt", rec.SavedAt)
	return true
}

// checkSaved says why a saved VM's record does not fit this start.
func (d *Driver) checkSaved(b []byte, readErr error, cands []string) error {
	if readErr != nil {
		return readErr
	}
	var rec savedVM
	if err := json.Unmarshal(b, &rec); err != nil {
		return fmt.Errorf("%s: %w", savedMetaFile, err)
	}
	if !slices.Contains(cands, rec.Accel) {
		return fmt.Errorf("it ran on %s, which this start does not use (%v)", rec.Accel, cands)
	}
	if key := d.keyFor(rec.Accel, d.Info().FileSharing); key == "" || key != rec.Key {
		return errors.New("the machine's configuration, its image or QEMU changed since it was saved")
	}
	var writable []string
	for _, disk := range d.m.Disks {
		if !disk.ReadOnly {
			writable = append(writable, disk.Path)
		}
	}
	if len(writable) != len(rec.Disks) {
		return errors.New("the machine's disks changed since it was saved")
	}
	for i, p := range writable {
		id, err := identify(p)
		if err != nil {
			return err
		}
		if id != rec.Disks[i] {
			return fmt.Errorf("%s changed since the VM was saved", p)
		}
	}
	return nil
}

// restore launches QEMU on the saved state: the RAM goes back into its
// memfd, the devices' state is loaded, the shares are plugged, and it runs.
func (d *Driver) restore(ctx context.Context, accel string, f, ram *os.File) error {
	exited, err := d.launch(accel, f)
	if err != nil {
		return err
	}
	timeout := tcgBootTimeout
	if accel != "tcg" {
		timeout = acceleratedBootTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// QEMU's monitor takes one client at a time: this one, to the end.
	var s *qmpSession
	for s == nil {
		if s, err = dialQMP(wctx, d.files.QMP); err == nil {
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("QEMU exited while loading the saved VM: %s", d.logTail())
		case <-wctx.Done():
			return fmt.Errorf("QEMU's monitor: %w", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	defer s.Close()
	if ram != nil {
		mem, err := memfdOf(d.Info().PID)
		if err != nil {
			return err
		}
		dst, err := os.OpenFile(mem, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("opening QEMU's RAM: %w", err)
		}
		_, err = copyPages(dst, ram)
		dst.Close()
		if err != nil {
			return fmt.Errorf("loading the saved RAM: %w", err)
		}
	}
	if err := ignoreSharedRAM(s); err != nil {
		return err
	}
	if _, err := s.exec("migrate-incoming", map[string]any{"uri": "fd:3"}); err != nil {
		return err
	}
	if err := waitRunState(wctx, s, exited, "paused"); err != nil {
		return err
	}
	if d.Info().FileSharing == shareVirtiofs {
		for _, dev := range shareDevices(d.m) {
			if _, err := s.exec("device_add", dev.qmp()); err != nil {
				return fmt.Errorf("plugging shared folder %s: %w", dev.id(), err)
			}
		}
	}
	if _, err := s.exec("cont", nil); err != nil {
		return err
	}
	return nil
}

// ignoreSharedRAM leaves RAM in shared memory (the memfd) out of QEMU's
// stream, on both sides: the driver saves and restores it itself
// (saveRAM, copyPages), without writing or reading its holes and zero
// pages. Memory that is not shared stays in the stream.
func ignoreSharedRAM(s *qmpSession) error {
	_, err := s.exec("migrate-set-capabilities", map[string]any{
		"capabilities": []map[string]any{{"capability": "x-ignore-shared", "state": true}},
	})
	return err
}

// waitRunState waits until QEMU's monitor reports want.
func waitRunState(ctx context.Context, s *qmpSession, exited <-chan struct{}, want string) error {
	for {
		var st string
		out, err := s.exec("query-status", nil)
		if err == nil {
			st, err = parseStatus(out)
		}
		if err == nil && st == want {
			return nil
		}
		select {
		case <-exited:
			return errors.New("QEMU exited while loading the saved VM")
		case <-ctx.Done():
			return fmt.Errorf("loading the saved VM: %w (waiting for %q; last state %q, %w)", ctx.Err(), want, st, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// saveRAM writes the stopped VM's RAM from QEMU's memfd to the RAM file's
// temporary name; 0 bytes when QEMU's RAM is no memfd (it is then in the
// migration stream).
func (d *Driver) saveRAM(pid int) (int64, error) {
	mem, err := memfdOf(pid)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	src, err := os.Open(mem)
	if err != nil {
		return 0, fmt.Errorf("opening QEMU's RAM: %w", err)
	}
	defer src.Close()
	dst, err := os.OpenFile(d.savedRAM()+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	defer dst.Close()
	fi, err := src.Stat()
	if err != nil {
		return 0, err
	}
	if err := dst.Truncate(fi.Size()); err != nil {
		return 0, err
	}
	n, err := copyPages(dst, src)
	if err == nil {
		err = dst.Sync()
	}
	if err != nil {
		os.Remove(dst.Name())
		return 0, err
	}
	return max(n, 1), nil
}

// memfdOf is the path (under /proc) of QEMU's guest RAM memfd.
func memfdOf(pid int) (string, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err == nil && strings.HasPrefix(target, "/memfd:memory-backend-memfd") {
			return filepath.Join(dir, e.Name()), nil
		}
	}
	return "", fmt.Errorf("QEMU (pid %d) has no RAM memfd: %w", pid, fs.ErrNotExist)
}

const pageSize = 4096

// copyPages copies src's data into dst at the same offsets, leaving out
// holes (SEEK_DATA/SEEK_HOLE) and pages of zeros, so a guest's untouched
// or freed memory costs neither disk nor time; it returns the bytes
// written.
func copyPages(dst, src *os.File) (int64, error) {
	fi, err := src.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	buf := make([]byte, 1<<20)
	var written int64
	for off := int64(0); off < size; {
		data, err := unix.Seek(int(src.Fd()), off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break
		}
		if err != nil {
			return written, fmt.Errorf("seeking data in %s: %w", src.Name(), err)
		}
		hole, err := unix.Seek(int(src.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			return written, fmt.Errorf("seeking a hole in %s: %w", src.Name(), err)
		}
		for p := data; p < hole; {
			n := int(min(int64(len(buf)), hole-p))
			if _, err := src.ReadAt(buf[:n], p); err != nil {
				return written, err
			}
			w, err := writeNonZero(dst, buf[:n], p)
			written += w
			if err != nil {
				return written, err
			}
			p += int64(n)
		}
		off = hole
	}
	return written, nil
}

// writeNonZero writes the runs of non-zero pages of b to dst at off.
func writeNonZero(dst *os.File, b []byte, off int64) (int64, error) {
	var written int64
	start := -1
	flush := func(end int) error {
		if start < 0 {
			return nil
		}
		n, err := dst.WriteAt(b[start:end], off+int64(start))
		written += int64(n)
		start = -1
		return err
	}
	for i := 0; i < len(b); i += pageSize {
		end := min(i+pageSize, len(b))
		if isZero(b[i:end]) {
			if err := flush(i); err != nil {
				return written, err
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return written, flush(len(b))
}

var zeroPage [pageSize]byte

func isZero(b []byte) bool { return bytes.Equal(b, zeroPage[:len(b)]) }

func (d device) qmp() map[string]any {
	m := map[string]any{}
	for _, kv := range d {
		m[kv[0]] = kv[1]
	}
	return m
}

func (d device) id() string {
	for _, kv := range d {
		if kv[0] == "id" {
			return kv[1]
		}
	}
	return ""
}

func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		_ = f.Sync()
		f.Close()
	}
}

// sendFD hands f to QEMU under name (QMP getfd with SCM_RIGHTS).
func sendFD(s *qmpSession, name string, f *os.File) error {
	uc, ok := s.conn.(*net.UnixConn)
	if !ok {
		return errors.New("the monitor connection is not a unix socket")
	}
	msg, err := json.Marshal(map[string]any{"execute": "getfd", "arguments": map[string]any{"fdname": name}})
	if err != nil {
		return err
	}
	if _, _, err := uc.WriteMsgUnix(append(msg, '\n'), unix.UnixRights(int(f.Fd())), nil); err != nil {
		return fmt.Errorf("QMP getfd: %w", err)
	}
	_, err = s.reply("getfd")
	return err
}
