package qemu

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/internal/wine"
)

// fakeMonitor speaks just enough QMP to report a run state that a real QEMU
// reaches only when the accelerator fails under a guest (internal-error
// after a KVM exit it cannot handle): that is what the driver's fallback to
// TCG reacts to. The handshake, error replies, events and quit are tested
// against QEMU itself in qmp_qemu_test.go.
func fakeMonitor(t *testing.T, status string) string {
	t.Helper()
	wine.Skip(t, "Wine has no AF_UNIX sockets; QEMU's monitor is a unix socket")
	sock := filepath.Join(t.TempDir(), "qmp.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	// stop and cont change the run state, as QEMU's do.
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintln(c, `{"QMP":{"version":{},"capabilities":[]}}`)
				s := bufio.NewScanner(c)
				for s.Scan() {
					line := s.Text()
					switch {
					case strings.Contains(line, "qmp_capabilities"):
						fmt.Fprintln(c, `{"return":{}}`)
					case strings.Contains(line, "query-status"):
						mu.Lock()
						fmt.Fprintf(c, `{"return":{"running":false,"status":%q}}`+"\n", status)
						mu.Unlock()
					case strings.Contains(line, `"execute":"stop"`), strings.Contains(line, `"execute":"cont"`):
						mu.Lock()
						if strings.Contains(line, "stop") {
							status = "paused"
						} else if status == "paused" {
							status = "running"
						}
						mu.Unlock()
						fmt.Fprintln(c, `{"return":{}}`)
					default:
						fmt.Fprintln(c, `{"error":{"class":"CommandNotFound","desc":"nope"}}`)
					}
				}
			}()
		}
	}()
	return sock
}

func TestQueryStatus(t *testing.T) {
	sock := fakeMonitor(t, "internal-error")
	st, err := queryStatus(sock)
	if err != nil || st != "internal-error" {
		t.Fatalf("queryStatus = %q, %v", st, err)
	}
	if !vmFailed(st) || vmFailed("running") {
		t.Error("vmFailed")
	}
}

func TestQMPNoMonitor(t *testing.T) {
	wine.Skip(t, "Wine has no AF_UNIX sockets")
	if _, err := queryStatus(filepath.Join(t.TempDir(), "none.sock")); err == nil {
		t.Fatal("no monitor, no error")
	}
}
