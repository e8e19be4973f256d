package hostagent

import (
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/berth-dev/berth/internal/exposure"
	"github.com/berth-dev/berth/portfwd"
	"github.com/berth-dev/berth/store"
)

// The exposure audit: a running agent (the fake driver, whose guest
// answers) listens on nothing beyond the loopback, and only on sockets
// nobody else can connect to, even when its machine directory and a
// socket in it were left open to everyone before the start. Every
// listening socket of the agent's process (this test's) and of its VM
// process is listed with its address.
func TestExposureAudit(t *testing.T) {
	port := freePort(t)
	a := startAgentAfter(t, "", "", func(m store.Machine) {
		// A machine made before (so the start creates no directory)...
		if _, _, _, err := Prepare(m, defaultSpec(2, runtime.GOARCH)); err != nil {
			t.Fatal(err)
		}
		// ...and left with every bit set: by hand, by an older version,
		// or under a umask of 0.
		if err := os.Chmod(m.Dir, 0o777); err != nil {
			t.Fatal(err)
		}
		stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: m.DockerSocket(), Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		stale.SetUnlinkOnClose(false)
		stale.Close()
		if err := os.Chmod(m.DockerSocket(), 0o777); err != nil {
			t.Fatal(err)
		}
	})
	m := a.m
	if _, err := a.ctl.AddForward(a.ctx, strconv.Itoa(port)+":80"); err != nil {
		t.Fatal(err)
	}
	defer a.ctl.Stop(a.ctx) //nolint:errcheck // the run's own end is checked by its cleanup

	var all []exposure.Socket
	for _, pid := range []int{os.Getpid(), a.f.pid()} {
		socks, err := exposure.Listening(pid)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range socks {
			t.Logf("pid %d listens: %s", pid, s)
		}
		all = append(all, socks...)
	}
	// The audit sees what it must judge: the forward on the loopback, and
	// unix sockets bound in the machine directory.
	want := exposure.Socket{Proto: "tcp", Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))}
	if !slices.ContainsFunc(all, func(s exposure.Socket) bool { return s.Proto == want.Proto && s.Addr == want.Addr }) {
		t.Errorf("the forward %s is not among the listening sockets", want)
	}
	inDir := 0
	for _, s := range all {
		if s.Proto == "unix" && filepath.Dir(s.Path) == m.Dir || filepath.Dir(filepath.Dir(s.Path)) == m.Dir {
			inDir++
		}
	}
	if inDir < 2 {
		t.Errorf("%d unix sockets of the machine directory listen; want the control API's and the docker socket's at least", inDir)
	}
	for _, err := range exposure.Audit(all, exposure.Policy{}, os.Stat) {
		t.Error(err)
	}

	// The directory and everything in it: private, whatever it was.
	fi, err := os.Stat(m.Dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("machine directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	ents, _ := os.ReadDir(m.Dir)
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			continue
		}
		if info.Mode().Type() == fs.ModeSocket && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("socket %s has mode %v; want it owner-only", e.Name(), info.Mode().Perm())
		}
	}
	if fw, err := a.ctl.Forwards(a.ctx); err != nil || !slices.ContainsFunc(fw, func(f portfwd.Forward) bool { return f.HostPort == port }) {
		t.Errorf("forwards %v, %v", fw, err)
	}
}
