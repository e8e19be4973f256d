package initd

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestReadWSLConfig(t *testing.T) {
	// One JSON document from a pipe the host keeps open: no EOF needed.
	r, w := io.Pipe()
	go func() { _, _ = io.WriteString(w, `{"hostname":"berth"}`+"\n") }()
	b, err := readWSLConfig("-", r)
	if err != nil || string(b) != `{"hostname":"berth"}` {
		t.Fatalf("stdin: %q, %v", b, err)
	}
	w.Close()

	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(`{"hostname":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := readWSLConfig(p, nil); err != nil || string(b) != `{"hostname":"x"}` {
		t.Fatalf("file: %q, %v", b, err)
	}
	if _, err := readWSLConfig("-", strings.NewReader("")); err == nil {
		t.Error("empty stdin read as a config")
	}
}

func TestParseConfigWSL(t *testing.T) {
	// No disk or shares: WSL owns them. The network is the switch's.
	const network = `"network":{"address":"192.168.127.2/24","gateway":"192.168.127.1","allowFrom":"192.168.127.1"}`
	cfg, _, err := ParseConfigWSL([]byte(`{"hostname":"berth",` + network + `,"engine":{"stopTimeout":"10s"}}`))
	if err != nil || cfg.Hostname != "berth" {
		t.Fatalf("%+v, %v", cfg, err)
	}
	if _, _, err := ParseConfig([]byte(`{"hostname":"berth"}`)); err == nil {
		t.Error("the VM's validation took a config without network and disk")
	}
	for _, bad := range []string{
		`{"hostname":"",` + network + `}`,
		`{"hostname":"b"}`, // no network: the tap would have no address
		`{"hostname":"b","network":{"address":"192.168.127.2","gateway":"192.168.127.1","allowFrom":"192.168.127.1"}}`,
		`{"hostname":"b","network":{"address":"192.168.127.2/24","gateway":"192.168.127.1","allowFrom":"192.168.127.1","dns":["nope"]}}`,
		`{"hostname":"b",` + network + `,"engine":{"daemonJSON":{"hosts":["tcp://0.0.0.0:2375"]}}}`,
	} {
		if _, _, err := ParseConfigWSL([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// The vsock listener binds and its Close ends a pending Accept. Nothing
// here can dial it: a kernel without vsock_loopback (like a VM's) reaches
// only its host through vsock.
func TestVsockListener(t *testing.T) {
	if !haveVsock() {
		t.Skip("the kernel here has no AF_VSOCK")
	}
	l, err := listenVsock(52380)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Addr().String(); got != "4294967295:52380" || l.Addr().Network() != "vsock" {
		t.Errorf("address %s %s", l.Addr().Network(), got)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	l.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Accept after Close returned a connection")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end Accept")
	}
}

// The launcher's unix-socket link listener reaches its copy on a file
// descriptor as a listener that accepts, and a stale socket is replaced.
func TestLinkListenerUnix(t *testing.T) {
	p := filepath.Join(t.TempDir(), "link.sock")
	if err := os.WriteFile(p, nil, 0o600); err != nil { // stale
		t.Fatal(err)
	}
	f, err := listenLinkFile(Link("unix:" + p))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the socket: %v, %v", fi.Mode(), err)
	}
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	l, err := linkListener(Link("unix:"+p), fd)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := net.Dial("unix", p); err == nil {
			_, _ = c.Write([]byte("x"))
			c.Close()
		}
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := c.Read(b); err != nil || b[0] != 'x' {
		t.Errorf("read %q, %v", b, err)
	}
	c.Close()

	// Anything but a listening socket on the descriptor is refused.
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	if _, err := linkListener(Link("unix:"+p), int(r.Fd())); err == nil {
		t.Error("a pipe taken as the link's listener")
	}
}
