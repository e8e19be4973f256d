// Package pidfile keeps one instance of a process per pidfile.
//
// The file holds the pid and, on the next line, the process's identity
// (proc.Identity: boot id and start time on Linux, start time on macOS and
// Windows). A live pid whose identity differs from the recorded one has
// been reused by an unrelated process, so the file is stale. Where the
// identity cannot be read (another OS, or a process we may not inspect) the
// check falls back to liveness of the pid alone.
package pidfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/proc"
)

// RunningError reports that the pidfile belongs to a live process.
type RunningError struct {
	Path string
	PID  int
}

var _ error = (*RunningError)(nil)

func (e *RunningError) Error() string {
	return fmt.Sprintf("already running (pid %d, pidfile %s)", e.PID, e.Path)
}

// Stale describes a pidfile that Acquire found and removed.
type Stale struct {
	PID    int    // 0 when the file held no readable pid
	Reason string // e.g. "process not running"
}

// File is a pidfile this process holds.
type File struct {
	path    string
	content []byte
	stale   *Stale
}

// Stale returns the stale pidfile Acquire removed, or nil if there was none,
// so that the caller can log it.
func (f *File) Stale() *Stale { return f.stale }

// Path is the pidfile's path.
func (f *File) Path() string { return f.path }

// Acquire creates the pidfile at path with this process's pid. If it exists
// and names a live process, the error is a *RunningError. If it is stale (a
// dead or reused pid, an empty or unreadable file) it is removed and the
// creation retried once; File.Stale then describes what was removed.
func Acquire(path string) (*File, error) {
	content := encode(os.Getpid())
	var stale *Stale
	for attempt := 0; attempt < 2; attempt++ {
		err := create(path, content)
		if err == nil {
			return &File{path: path, content: content, stale: stale}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("creating pidfile %s: %w", path, err)
		}
		old, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed in the meantime
		}
		if err != nil {
			return nil, fmt.Errorf("reading pidfile %s: %w", path, err)
		}
		r := inspect(old)
		if r.alive {
			return nil, &RunningError{Path: path, PID: r.pid}
		}
		if err := removeIfUnchanged(path, old); err != nil {
			return nil, fmt.Errorf("removing stale pidfile %s: %w", path, err)
		}
		stale = &Stale{PID: r.pid, Reason: r.reason}
	}
	return nil, fmt.Errorf("creating pidfile %s: it reappeared after a stale one was removed", path)
}

// Release removes the pidfile if it is still this one's: a successor that
// replaced it keeps its file.
func (f *File) Release() error {
	if err := removeIfUnchanged(f.path, f.content); err != nil {
		return fmt.Errorf("releasing pidfile %s: %w", f.path, err)
	}
	return nil
}

// Read returns the pid in the pidfile at path and whether that process is
// alive (and, where it can be told, still the one that wrote the file).
func Read(path string) (pid int, alive bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false, fmt.Errorf("reading pidfile: %w", err)
	}
	r := inspect(b)
	if r.pid == 0 {
		return 0, false, fmt.Errorf("pidfile %s: %s", path, r.reason)
	}
	return r.pid, r.alive, nil
}

func encode(pid int) []byte {
	id, err := proc.Identity(pid)
	if err != nil {
		id = "" // no pid-reuse guard here: liveness alone decides
	}
	return []byte(strconv.Itoa(pid) + "\n" + id + "\n")
}

// decode parses the file; ok is false for an empty or garbled one.
func decode(b []byte) (pid int, id string, ok bool) {
	lines := strings.Split(strings.TrimRight(string(b), "\r\n"), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return 0, "", false
	}
	if len(lines) > 1 {
		id = strings.TrimSpace(lines[1])
	}
	return pid, id, true
}

type verdict struct {
	pid    int
	alive  bool
	reason string // why it is not alive
}

func inspect(b []byte) verdict {
	if len(bytes.TrimSpace(b)) == 0 {
		return verdict{reason: "empty"}
	}
	pid, id, ok := decode(b)
	if !ok {
		return verdict{reason: "no pid in it"}
	}
	if !proc.Alive(pid) {
		return verdict{pid: pid, reason: "process not running"}
	}
	if id != "" {
		if now, err := proc.Identity(pid); err == nil && now != id {
			return verdict{pid: pid, reason: "pid reused by another process"}
		}
	}
	return verdict{pid: pid, alive: true}
}

// create makes path appear with its full content at once, failing with
// fs.ErrExist if it exists: it writes a temporary file and hard-links it
// into place, so no reader ever sees a half-written (hence "garbage",
// hence "stale") pidfile. Where hard links are not supported it falls back
// to O_EXCL and a write, which leaves that short window open.
func create(path string, content []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // the link, if any, keeps the data
	_, werr := tmp.Write(content)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	err = os.Link(tmp.Name(), path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	return createExcl(path, content)
}

func createExcl(path string, content []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(content)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
	}
	return werr
}

// removeIfUnchanged removes path if it still holds want. Another process
// could replace it between the read and the remove; that window is a few
// microseconds and needs two starters racing over a stale file.
func removeIfUnchanged(path string, want []byte) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !bytes.Equal(b, want) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
