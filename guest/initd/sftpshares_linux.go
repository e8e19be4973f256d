package initd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/guestconfig"
)

// How long the engine waits at boot for the host agent's share
// connections, and how long one sshfs may take to mount.
const (
	sftpBootWait  = 60 * time.Second
	sftpMountWait = 15 * time.Second
)

// sftpShares are the shares that come over SFTP: the host agent connects
// to SharePort once per share, in the config's order (parents first), and
// each connection is mounted by an sshfs of its own. A new connection for
// a share (a new host agent after a crash, a restore) replaces its mount.
type sftpShares struct {
	in *Init
	mu sync.Mutex
	// procs are the running sshfs, by tag.
	procs   map[string]*osProc
	changed chan struct{} // closed and replaced when a share is mounted
}

// startSFTPShares listens for the host agent's share connections and
// waits, at most sftpBootWait, until every share is mounted: the engine
// starts after, so that a container restarted with it finds its binds.
func (in *Init) startSFTPShares() {
	s := &sftpShares{in: in, procs: map[string]*osProc{}, changed: make(chan struct{})}
	in.mu.Lock()
	in.sftp = s // the API's share calls read it
	in.mu.Unlock()
	l, err := in.listen(guestconfig.SharePort)
	if err != nil {
		in.warnf("shared folders: listening for the host's connections: %v", err)
		return
	}
	in.logf("shared folders: waiting for the host on %s", l.Addr())
	in.goSafe("shared folders", func() { s.accept(l) })
	ctx, cancel := context.WithTimeout(context.Background(), sftpBootWait)
	defer cancel()
	if err := s.waitAll(ctx); err != nil {
		in.warnf("shared folders: %v; the engine starts without them", err)
	}
}

// accept mounts each connection in turn: one at a time, so a parent is
// mounted before a folder inside it when the host connects in order.
func (s *sftpShares) accept(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			s.in.warnf("shared folders: %v", err)
			return
		}
		if err := s.mount(c); err != nil {
			s.in.warnf("shared folders: %v", err)
		}
	}
}

// mount mounts the share the connection names, replacing its earlier
// mount; the connection becomes sshfs's standard input and output.
func (s *sftpShares) mount(c net.Conn) error {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	tag, ok := shareTagLine(c.Read)
	_ = c.SetReadDeadline(time.Time{})
	if !ok {
		return fmt.Errorf("a connection from %s did not name a share", c.RemoteAddr())
	}
	i := slices.IndexFunc(s.in.cfg.Shares, func(sh guestconfig.Share) bool { return sh.Tag == tag })
	if i < 0 {
		return fmt.Errorf("a connection for share %q, which the config does not have", tag)
	}
	share := s.in.cfg.Shares[i]
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return fmt.Errorf("share %s: a %T connection", tag, c)
	}
	f, err := tc.File()
	if err != nil {
		return fmt.Errorf("share %s: %w", tag, err)
	}
	defer f.Close()
	s.stop(tag, share.Path)
	if err := os.MkdirAll(share.Path, 0o755); err != nil {
		return fmt.Errorf("shared folder %s: %w", share.Path, err)
	}
	log := NewLineLog("[sshfs "+share.Path+"] ", 20, s.in.debugSinks()...)
	p, err := s.in.spawnIO(sshfsArgs(share.Path, share.ReadOnly), log, f, f)
	if err != nil {
		return fmt.Errorf("shared folder %s: starting sshfs: %w", share.Path, err)
	}
	deadline := time.Now().Add(sftpMountWait)
	for mountFSType(readMountinfo(), share.Path) != "fuse.sshfs" {
		select {
		case <-p.Done():
			return fmt.Errorf("shared folder %s: sshfs ended (%s): %s", share.Path, p.Exit(), p.Tail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = p.Signal(syscall.SIGKILL)
			return fmt.Errorf("shared folder %s: sshfs did not mount it in %s: %s", share.Path, sftpMountWait, p.Tail())
		}
	}
	mode := "read-write"
	if share.ReadOnly {
		mode = "read-only"
	}
	s.in.logf("shared folder %s mounted (sftp, %s)", share.Path, mode)
	s.mu.Lock()
	s.procs[tag] = p
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return nil
}

// stop ends the share's sshfs, if one runs, and whatever it leaves
// mounted (a mount whose sshfs died answers nothing but ENOTCONN).
func (s *sftpShares) stop(tag, path string) {
	s.mu.Lock()
	p := s.procs[tag]
	delete(s.procs, tag)
	s.mu.Unlock()
	if p != nil {
		_ = p.Signal(syscall.SIGTERM)
		select {
		case <-p.Done():
		case <-time.After(2 * time.Second):
			_ = p.Signal(syscall.SIGKILL)
			<-p.Done()
		}
	}
	if mountFSType(readMountinfo(), path) != "" {
		_ = unix.Unmount(path, unix.MNT_DETACH)
	}
}

// waitAll waits until every share has a running sshfs with its mount.
func (s *sftpShares) waitAll(ctx context.Context) error {
	for {
		mounts := readMountinfo()
		s.mu.Lock()
		var missing []string
		for _, sh := range s.in.cfg.Shares {
			p := s.procs[sh.Tag]
			alive := p != nil
			if alive {
				select {
				case <-p.Done():
					alive = false
				default:
				}
			}
			if !alive || mountFSType(mounts, sh.Path) == "" {
				missing = append(missing, sh.Path)
			}
		}
		changed := s.changed
		s.mu.Unlock()
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%v not mounted: the host did not connect (%w)", missing, ctx.Err())
		case <-changed:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// unmountAll ends every share's sshfs and mount, inner folders first.
func (s *sftpShares) unmountAll() error {
	var errs []error
	for i := len(s.in.cfg.Shares) - 1; i >= 0; i-- {
		sh := s.in.cfg.Shares[i]
		s.stop(sh.Tag, sh.Path)
		if mountFSType(readMountinfo(), sh.Path) != "" {
			errs = append(errs, fmt.Errorf("%s is still mounted", sh.Path))
			continue
		}
		s.in.logf("shared folder %s unmounted", sh.Path)
	}
	return errors.Join(errs...)
}

// sftpShares is the shares served over SFTP, nil when none are.
func (in *Init) sftpShares() *sftpShares {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.sftp
}

func readMountinfo() string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	return string(b)
}
