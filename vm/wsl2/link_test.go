package wsl2

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/linkhello"
	"github.com/berth-dev/berth/vm/wsl2/internal/fakewsl"
)

// peer is how a fake VM answers on the link port.
type peer int

const (
	peerRight   peer = iota // Berth's guest of this start: the right header
	peerOther               // Berth's guest of another distro or start
	peerSilent              // a listener that sends nothing
	peerForeign             // something else listening on the port
	peerRefuse              // nothing listens: the dial fails
)

// fakeHvsock is a host's Hyper-V sockets: the VMs in peers answer as
// they say, any other VM as the right peer when peers is nil and not at
// all otherwise. nonce is the start's nonce a right peer sends.
type fakeHvsock struct {
	nonce func() linkhello.Nonce

	mu    sync.Mutex
	peers map[string]peer
	port  uint32
	dials []string
}

func (f *fakeHvsock) DialHvsock(_ context.Context, vmID string, port uint32) (net.Conn, error) {
	f.mu.Lock()
	f.port = port
	f.dials = append(f.dials, vmID)
	p, ok := f.peers[vmID]
	if !ok && f.peers != nil {
		p = peerRefuse
	}
	f.mu.Unlock()
	if p == peerRefuse {
		return nil, errors.New("fake: no listener")
	}
	host, guest := net.Pipe()
	go func() {
		switch p {
		case peerRight:
			_ = linkhello.Send(guest, f.nonce())
		case peerOther:
			n := f.nonce()
			n[0] ^= 0xff
			_ = linkhello.Send(guest, n)
		case peerForeign:
			_, _ = guest.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		}
	}()
	return host, nil
}

func (f *fakeHvsock) set(peers map[string]peer) {
	f.mu.Lock()
	f.peers = peers
	f.mu.Unlock()
}

func (f *fakeHvsock) dialed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.dials)
}

// fakeVMs is HCS's list of compute systems.
type fakeVMs struct {
	mu    sync.Mutex
	ids   []string
	err   error
	calls int
}

func (f *fakeVMs) ListVMs() ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return slices.Clone(f.ids), f.err
}

const (
	vmA  = "aaaaaaaa-0000-0000-0000-000000000001"
	vmB  = "bbbbbbbb-0000-0000-0000-000000000002"
	vmC  = "cccccccc-0000-0000-0000-000000000003"
	ours = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
)

// noWslinfo is the stand-in's answer of a distro without wslinfo (WSL
// before 2.5.10); its words, not WSL's.
var noWslinfo = fakewsl.Reply{Args: wslinfoCall, Print: "stand-in: /bin/wslinfo: not found\n", Exit: 1}

// startedDriver is a driver whose stand-in guest init runs, wslinfo
// answering as w says.
func startedDriver(t *testing.T, w fakewsl.Reply) (*Driver, *fakeHvsock, *fakeVMs, *scene) {
	t.Helper()
	c, s := newScene(t, reply("list", 0, "-l"), guestInit(filepath.Join(t.TempDir(), "exit")), w)
	d, _, hv := newTestDriver(t, c)
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d, hv, d.vms.(*fakeVMs), s
}

func wslinfoCalls(s *scene) int {
	n := 0
	for _, a := range s.args() {
		if slices.Contains(a, wslinfoPath) {
			n++
		}
	}
	return n
}

// Without wslinfo the probe dials every compute system and keeps the one
// whose peer sent this start's header; the next dial goes there alone.
func TestDialLinkProbeFindsOurs(t *testing.T) {
	d, hv, vms, s := startedDriver(t, noWslinfo)
	vms.ids = []string{vmA, ours, vmB, vmC}
	hv.set(map[string]peer{vmA: peerRefuse, ours: peerRight, vmB: peerOther, vmC: peerSilent})
	conn, err := d.DialLink(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if got := hv.dialed(); len(got) != 4 {
		t.Errorf("the probe dialed %q, want each candidate once", got)
	}
	conn, err = d.DialLink(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if got := hv.dialed(); len(got) != 5 || got[4] != ours {
		t.Errorf("dialed %q, want the found VM last", got)
	}
	if n := wslinfoCalls(s); n != 1 || vms.calls != 1 {
		t.Errorf("wslinfo ran %d times, the probe %d; want once each", n, vms.calls)
	}
}

// The link carries the guest's bytes after the header, untouched.
func TestDialLinkConsumesTheHeaderOnly(t *testing.T) {
	d, hv, _, _ := startedDriver(t, fakewsl.Reply{Args: wslinfoCall, Print: testVMID + "\n"})
	host, guest := net.Pipe()
	defer guest.Close()
	d.hv = hvsockFunc(func(context.Context, string, uint32) (net.Conn, error) {
		go func() {
			_ = linkhello.Send(guest, hv.nonce())
			_, _ = guest.Write([]byte("\x00\x00\x00\x05frame"))
		}()
		return host, nil
	})
	conn, err := d.DialLink(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b := make([]byte, 9)
	if _, err := conn.Read(b); err != nil || string(b) != "\x00\x00\x00\x05frame" {
		t.Errorf("after the header: %q, %v", b, err)
	}
}

type hvsockFunc func(ctx context.Context, vmID string, port uint32) (net.Conn, error)

func (f hvsockFunc) DialHvsock(ctx context.Context, vmID string, port uint32) (net.Conn, error) {
	return f(ctx, vmID, port)
}

// No candidate is ours: the error names what was tried and each
// candidate's answer, and the update that brings wslinfo.
func TestDialLinkProbeNoneRight(t *testing.T) {
	d, hv, vms, _ := startedDriver(t, noWslinfo)
	vms.ids = []string{vmA, vmB, vmC, ours}
	hv.set(map[string]peer{vmA: peerOther, vmB: peerSilent, vmC: peerForeign})
	_, err := d.DialLink(context.Background())
	if err == nil {
		t.Fatal("DialLink succeeded")
	}
	for _, says := range []string{
		"wslinfo --vm-id", "not found", "Host Compute Service", "4 candidate(s)",
		vmA + ": the link header: the peer's link header carries another nonce",
		vmB + ": the peer sent no link header within",
		vmC + ": the link header: the peer did not open with Berth's link header",
		ours + ": connecting to vsock port 1745591998: fake: no listener",
		"2.5.10", "wsl --update",
	} {
		if !strings.Contains(err.Error(), says) {
			t.Errorf("DialLink = %v\nwant it to say %q", err, says)
		}
	}
	if !errors.Is(err, linkhello.ErrOtherNonce) || !errors.Is(err, linkhello.ErrNotBerth) {
		t.Errorf("DialLink = %v, want it to wrap each candidate's error", err)
	}
	if d.vmID != "" {
		t.Errorf("kept the VM id %s of a wrong peer", d.vmID)
	}
}

func TestDialLinkProbeFails(t *testing.T) {
	d, hv, vms, _ := startedDriver(t, noWslinfo)
	vms.err = errors.New("the Host Compute Service's registry exists on Windows only")
	if _, err := d.DialLink(context.Background()); err == nil || !strings.Contains(err.Error(), "exists on Windows only") ||
		!strings.Contains(err.Error(), "wslinfo --vm-id") || !strings.Contains(err.Error(), "wsl --update") {
		t.Errorf("DialLink = %v", err)
	}
	vms.err = nil
	if _, err := d.DialLink(context.Background()); err == nil || !strings.Contains(err.Error(), "none runs") {
		t.Errorf("DialLink with no compute system = %v", err)
	}
	if len(hv.dialed()) != 0 {
		t.Error("dialed without a candidate")
	}
}

// wslinfo's id is the VM: a peer there with another nonce is refused, and
// no other VM is tried.
func TestDialLinkWslinfoWrongPeer(t *testing.T) {
	d, hv, vms, _ := startedDriver(t, fakewsl.Reply{Args: wslinfoCall, Print: testVMID + "\n"})
	vms.ids = []string{vmA}
	hv.set(map[string]peer{ours: peerOther, vmA: peerRight})
	_, err := d.DialLink(context.Background())
	if err == nil || !strings.Contains(err.Error(), ours+" (from wslinfo --vm-id)") || !errors.Is(err, linkhello.ErrOtherNonce) {
		t.Errorf("DialLink = %v, want the refusal of wslinfo's VM", err)
	}
	if got := hv.dialed(); !slices.Equal(got, []string{ours}) || vms.calls != 0 {
		t.Errorf("dialed %q, probed %d times; want wslinfo's VM alone", got, vms.calls)
	}
}

// The VM found before no longer answers: DialLink says so and finds
// another the usual way.
func TestDialLinkFindsAnewAfterTheKeptVMFails(t *testing.T) {
	d, hv, vms, s := startedDriver(t, noWslinfo)
	vms.ids = []string{vmA, vmB}
	hv.set(map[string]peer{vmA: peerRight})
	conn, err := d.DialLink(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	hv.set(map[string]peer{vmA: peerOther, vmB: peerRight})
	conn, err = d.DialLink(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if d.vmID != vmB || wslinfoCalls(s) != 2 || vms.calls != 2 {
		t.Errorf("kept %s after %d wslinfo calls and %d probes; want %s, 2, 2", d.vmID, wslinfoCalls(s), vms.calls, vmB)
	}
	// Nothing answers now: the error starts with the VM found before.
	hv.set(map[string]peer{})
	_, err = d.DialLink(context.Background())
	if err == nil || !strings.Contains(err.Error(), "tried the WSL VM "+vmB+" found before") {
		t.Errorf("DialLink = %v", err)
	}
}

// A caller's end stops the wait for a header.
func TestDialLinkCanceledDuringTheHeader(t *testing.T) {
	d, hv, _, _ := startedDriver(t, fakewsl.Reply{Args: wslinfoCall, Print: testVMID + "\n"})
	hv.set(map[string]peer{ours: peerSilent})
	d.hello = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := d.DialLink(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Errorf("DialLink = %v after %v, want the context's end", err, time.Since(start))
	}
}

// The init gets this start's nonce through WSLENV; the caller's WSLENV
// is kept.
func TestStartHandsTheInitItsNonce(t *testing.T) {
	t.Setenv("WSLENV", "USERPROFILE/p:"+linkhello.EnvVar+"/w")
	t.Setenv(linkhello.EnvVar, "stale")
	d, _, _, s := startedDriver(t, noWslinfo)
	var env []string
	for _, c := range s.calls() {
		if slices.Contains(c.Args, InitPath) {
			env = c.Env
		}
	}
	d.mu.Lock()
	want := d.nonce
	d.mu.Unlock()
	if want == (linkhello.Nonce{}) {
		t.Fatal("no nonce")
	}
	if !slices.Contains(env, linkhello.EnvVar+"="+want.String()) || slices.Contains(env, linkhello.EnvVar+"=stale") {
		t.Errorf("the init's environment lacks %s=%s: %q", linkhello.EnvVar, want, env)
	}
	if !slices.Contains(env, "WSLENV=USERPROFILE/p:"+linkhello.EnvVar+"/u") {
		t.Errorf("the init's WSLENV: %q", env)
	}
}

func TestWithWSLEnv(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{nil, []string{"N=v", "WSLENV=N/u"}},
		{[]string{"A=1", "WSLENV=X:Y/p"}, []string{"A=1", "N=v", "WSLENV=X:Y/p:N/u"}},
		{[]string{"n=old", "WslEnv=N/w::Z"}, []string{"N=v", "WSLENV=Z:N/u"}},
	} {
		if got := withWSLEnv(c.in, "N", "v"); !slices.Equal(got, c.want) {
			t.Errorf("withWSLEnv(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
