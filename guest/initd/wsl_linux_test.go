package initd

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	// No network, disk or shares: WSL owns them.
	cfg, _, err := ParseConfigWSL([]byte(`{"hostname":"berth","engine":{"stopTimeout":"10s"}}`))
	if err != nil || cfg.Hostname != "berth" {
		t.Fatalf("%+v, %v", cfg, err)
	}
	if _, _, err := ParseConfig([]byte(`{"hostname":"berth"}`)); err == nil {
		t.Error("the VM's validation took a config without network and disk")
	}
	for _, bad := range []string{
		`{"hostname":""}`,
		`{"hostname":"b","network":{"dns":["nope"]}}`,
		`{"hostname":"b","engine":{"daemonJSON":{"hosts":["tcp://0.0.0.0:2375"]}}}`,
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
	tl, err := listenTransport(Transport{Network: "tcp"}, 0)
	if err != nil {
		t.Fatalf("TCP loopback: %v", err)
	}
	defer tl.Close()
	if ip := tl.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Errorf("the TCP fallback listens on %s, not loopback", ip)
	}
}
