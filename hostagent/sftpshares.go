package hostagent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/hostagent/sftpshare"
	"github.com/berth-dev/berth/vm"
)

// EnvFileSharing picks the way shared folders reach the VM among those the
// driver offers ("virtiofs", "sftp"): for diagnosis, and for the tests of
// the SFTP way on a host where virtio-fs would be chosen.
const EnvFileSharing = "BERTH_FILE_SHARING"

// fileSharing is the way the machine's shares reach the guest: the
// driver's first, or the one override names when the driver offers it; ""
// when there are no shares or the driver offers no way.
func fileSharing(offered []string, override string, shares int) (string, error) {
	if override != "" {
		if slices.Contains(offered, override) {
			return override, nil
		}
		return "", fmt.Errorf("%s=%q: the driver offers %v", EnvFileSharing, override, offered)
	}
	if shares == 0 || len(offered) == 0 {
		return "", nil
	}
	return offered[0], nil
}

// How long the share server waits before it connects again, after a
// connection ended or could not be made.
const (
	shareRetryFirst = 250 * time.Millisecond
	shareRetryMax   = 2 * time.Second
	// A session shorter than shareSessionLong did not work: the next
	// waits double, up to shareRetryIdle.
	shareSessionLong = 10 * time.Second
	shareRetryIdle   = 30 * time.Second
)

// sftpShares serves the machine's shares over SFTP (vm.ShareSFTP): for each
// share a connection to the guest's SharePort, the share's tag and a
// newline, then this agent's SFTP server of the folder, as its user. The
// first connections are made in the plan's order, parents first, since the
// guest mounts them in the order they come; a connection that ends (the
// guest's sshfs restarted, the VM saved) is made again until stop.
type sftpShares struct {
	dial   func(ctx context.Context) (net.Conn, error)
	shares []vm.Share
	log    *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newSFTPShares(dial func(ctx context.Context) (net.Conn, error), shares []vm.Share, log *slog.Logger) *sftpShares {
	return &sftpShares{dial: dial, shares: shares, log: log, conns: map[net.Conn]bool{}}
}

// start connects every share, in order, and keeps them connected.
func (s *sftpShares) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		first := make([]net.Conn, len(s.shares))
		for i, sh := range s.shares {
			first[i] = s.connect(ctx, sh)
			if first[i] == nil {
				return // stopped
			}
		}
		for i, sh := range s.shares {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.keep(ctx, sh, first[i])
			}()
		}
	}()
}

// stop ends every share's connection (the guest's sshfs ends with it, and
// its mount) and waits for the servers.
func (s *sftpShares) stop() {
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// connect makes the share's connection and names the share on it, trying
// again until it works or ctx ends (nil).
func (s *sftpShares) connect(ctx context.Context, sh vm.Share) net.Conn {
	wait := shareRetryFirst
	for {
		c, err := s.dial(ctx)
		if err == nil {
			_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, err = c.Write([]byte(sh.Tag + "\n"))
			_ = c.SetWriteDeadline(time.Time{})
			if err == nil {
				s.mu.Lock()
				if ctx.Err() == nil {
					s.conns[c] = true
					s.mu.Unlock()
					return c
				}
				s.mu.Unlock()
			}
			_ = c.Close()
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.Debug("connecting a shared folder to the guest", "path", sh.HostPath, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, shareRetryMax)
	}
}

// keep serves the share on c and on each connection after it. A session
// that ends soon after it began (the folder is gone, the guest cannot
// mount it) is tried again later and later, up to shareRetryIdle.
func (s *sftpShares) keep(ctx context.Context, sh vm.Share, c net.Conn) {
	wait := shareRetryFirst
	for c != nil {
		began := time.Now()
		err := sftpshare.Serve(c, sh.HostPath, sh.ReadOnly)
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
		if ctx.Err() != nil {
			return
		}
		lasted := time.Since(began)
		if lasted > shareSessionLong {
			wait = shareRetryFirst
		}
		s.log.Info("a shared folder's connection ended; connecting again", "path", sh.HostPath, "after", lasted.Round(time.Millisecond), "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, shareRetryIdle)
		c = s.connect(ctx, sh)
	}
}

// startSFTPShares starts serving the shares when they go over SFTP; the
// driver stage's cleanup stops it once the VM is saved or stopped.
func (a *Agent) startSFTPShares(b *boot) {
	if b.shareMode != vm.ShareSFTP || len(b.shares.vm) == 0 {
		return
	}
	network := b.network
	b.sftp = newSFTPShares(func(ctx context.Context) (net.Conn, error) {
		return network.DialGuest(ctx, guestconfig.SharePort)
	}, b.shares.vm, a.log)
	b.sftp.start()
}
