//go:build !windows

package sockets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// staleProbeTimeout bounds the dial that tells a live socket from a stale one.
const staleProbeTimeout = 2 * time.Second

// listen makes sure the socket is never reachable with a mode wider than
// 0600, without touching the process-wide umask (other goroutines create
// files too). It binds inside a fresh 0700 directory next to path, chmods
// the socket there, and renames it into place: nobody else can reach the
// temporary name, and rename keeps the bound socket. When the temporary
// name would not fit in sun_path but path does, and the parent directory is
// already closed to group and others, it binds in place and chmods: the
// window between bind and chmod is unreachable to anyone else there.
//
// Two agents racing for one path are kept apart by the pidfile, not here:
// the rename would replace a socket created between the probe and it.
func listen(path string) (net.Listener, error) {
	if err := removeStale(path); err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	tmpDir, err := os.MkdirTemp(dir, ".")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmpDir) //nolint:errcheck // best effort: the socket has moved out
	tmp := filepath.Join(tmpDir, "s")
	if CheckPathLength(runtime.GOOS, tmp) == nil {
		return bindPrivate(tmp, path)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is open to group or others and the path is too long for a private temporary name: use a 0700 directory or a shorter path", dir)
	}
	return bindPrivate(path, path)
}

// bindPrivate binds at tmp, sets mode 0600 and moves the socket to path.
func bindPrivate(tmp, path string) (net.Listener, error) {
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ul.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		_ = ul.Close()
		_ = os.Remove(tmp)
		return nil, err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fail(err)
	}
	if tmp != path {
		if err := os.Rename(tmp, path); err != nil {
			return fail(err)
		}
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return &unixListener{UnixListener: ul, path: path, file: fi}, nil
}

// removeStale removes a socket file at path that nobody answers on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	d := net.Dialer{Timeout: staleProbeTimeout}
	c, err := d.Dial("unix", path)
	if err == nil {
		_ = c.Close()
		return ErrInUse
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("probing the existing socket: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing stale socket: %w", err)
	}
	return nil
}

func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}

// unixListener removes its socket file on Close, if the file is still the
// one it created (a successor may have replaced it).
type unixListener struct {
	*net.UnixListener
	path string
	file fs.FileInfo
	once sync.Once
}

var _ net.Listener = (*unixListener)(nil)

func (l *unixListener) Addr() net.Addr {
	return &net.UnixAddr{Name: l.path, Net: "unix"}
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		fi, statErr := os.Lstat(l.path)
		if statErr != nil || !os.SameFile(fi, l.file) {
			return
		}
		if rmErr := os.Remove(l.path); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("removing socket: %w", rmErr))
		}
	})
	return err
}
