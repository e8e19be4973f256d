package qemu

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/wine"
)

// fakeMonitor speaks just enough QMP: greeting, capabilities, an event
// interleaved before the answer, and an error for unknown commands.
func fakeMonitor(t *testing.T, status string) string {
	t.Helper()
	wine.Skip(t, "Wine has no AF_UNIX sockets; QEMU's monitor is a unix socket")
	sock := filepath.Join(t.TempDir(), "qmp.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
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
						fmt.Fprintln(c, `{"event":"RTC_CHANGE","data":{}}`)
						fmt.Fprintf(c, `{"return":{"running":false,"status":%q}}`+"\n", status)
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
	if err := qmpCommand(sock, "bogus"); err == nil || !strings.Contains(err.Error(), "CommandNotFound") {
		t.Fatalf("error reply not surfaced: %v", err)
	}
}

func TestQMPNoMonitor(t *testing.T) {
	wine.Skip(t, "Wine has no AF_UNIX sockets")
	if _, err := queryStatus(filepath.Join(t.TempDir(), "none.sock")); err == nil {
		t.Fatal("no monitor, no error")
	}
}
