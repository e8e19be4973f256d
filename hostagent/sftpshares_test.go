package hostagent

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"

	"github.com/berth-dev/berth/vm"
)

func TestFileSharing(t *testing.T) {
	for _, c := range []struct {
		offered  []string
		override string
		shares   int
		want     string
		err      string
	}{
		{[]string{"virtiofs", "sftp"}, "", 2, "virtiofs", ""},
		{[]string{"virtiofs", "sftp"}, "sftp", 2, "sftp", ""},
		{[]string{"sftp"}, "", 1, "sftp", ""},
		{[]string{"sftp"}, "", 0, "", ""},
		{nil, "", 3, "", ""},
		{[]string{"drvfs"}, "sftp", 1, "", `BERTH_FILE_SHARING="sftp": the driver offers [drvfs]`},
	} {
		got, err := fileSharing(c.offered, c.override, c.shares)
		if got != c.want || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("fileSharing(%v, %q, %d) = %q, %v; want %q, %q", c.offered, c.override, c.shares, got, err, c.want, c.err)
		}
	}
}

// guestEnd is the guest's side of the share connections, as the init
// takes them: a listener, and each connection's tag line read.
type guestEnd struct {
	l     net.Listener
	conns chan guestConn
}

type guestConn struct {
	tag string
	c   net.Conn
	r   *bufio.Reader
}

func newGuestEnd(t *testing.T) *guestEnd {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &guestEnd{l: l, conns: make(chan guestConn, 16)}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			r := bufio.NewReader(c)
			tag, err := r.ReadString('\n')
			if err != nil {
				c.Close()
				continue
			}
			g.conns <- guestConn{strings.TrimSuffix(tag, "\n"), c, r}
		}
	}()
	t.Cleanup(func() { l.Close() })
	return g
}

func (g *guestEnd) next(t *testing.T) guestConn {
	t.Helper()
	select {
	case c := <-g.conns:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no share connection came")
		return guestConn{}
	}
}

// client is sshfs's side of a connection: an SFTP client on what follows
// the tag.
func (c guestConn) client(t *testing.T) *sftp.Client {
	cl, err := sftp.NewClientPipe(c.r, c.c)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// The agent connects the shares in order, serves each folder on its own
// connection, connects a share again when its connection ends, and at
// stop leaves no connection open.
func TestSFTPShares(t *testing.T) {
	parent, child := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(parent, "p"), []byte("parent"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(child, "c"), []byte("child"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := newGuestEnd(t)
	s := newSFTPShares(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", g.l.Addr().String())
	}, []vm.Share{{Tag: "berth0", HostPath: parent}, {Tag: "berth1", HostPath: child, ReadOnly: true}}, slog.New(slog.DiscardHandler))
	s.start()
	defer s.stop()

	first, second := g.next(t), g.next(t)
	if first.tag != "berth0" || second.tag != "berth1" {
		t.Fatalf("connected %s then %s, want the plan's order", first.tag, second.tag)
	}
	read := func(cl *sftp.Client, name string) string {
		t.Helper()
		f, err := cl.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, 64)
		n, _ := f.Read(b)
		return string(b[:n])
	}
	c0, c1 := first.client(t), second.client(t)
	if got := read(c0, "/p"); got != "parent" {
		t.Errorf("berth0 serves %q", got)
	}
	if got := read(c1, "/c"); got != "child" {
		t.Errorf("berth1 serves %q", got)
	}
	if _, err := c1.Create("/new"); err == nil {
		t.Error("the read-only share took a new file")
	}

	// The guest's sshfs for berth0 ends: the agent connects it again.
	c0.Close()
	first.c.Close()
	again := g.next(t)
	if again.tag != "berth0" {
		t.Fatalf("reconnected %s, want berth0", again.tag)
	}
	if got := read(again.client(t), "/p"); got != "parent" {
		t.Errorf("berth0 again serves %q", got)
	}

	s.stop()
	s.mu.Lock()
	left := len(s.conns)
	s.mu.Unlock()
	if left != 0 {
		t.Errorf("%d connections open after stop", left)
	}
	// The guest sees its connections end.
	_ = second.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c1.Stat("/c"); err == nil {
		t.Error("berth1's connection still answers after stop")
	}
	select {
	case c := <-g.conns:
		t.Errorf("a connection for %s after stop", c.tag)
	case <-time.After(3 * shareRetryFirst):
	}
}
