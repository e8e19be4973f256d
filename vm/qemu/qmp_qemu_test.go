package qemu

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/wine"
)

// startQEMU starts a real qemu-system-x86_64 with no machine at all (it is
// up in milliseconds) and its monitor on a unix socket, and returns the
// socket and the running process. Without QEMU the test skips on a
// developer's machine, but fails under CI or BERTH_E2E=1, where a skip
// would be a test that nothing runs.
func startQEMU(t *testing.T) (string, *exec.Cmd) {
	t.Helper()
	wine.Skip(t, "Wine has no AF_UNIX sockets; QEMU's monitor is a unix socket")
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("BERTH_E2E") == "1" {
			t.Fatalf("qemu-system-x86_64 is needed for the QMP test under CI or BERTH_E2E=1: %v", err)
		}
		t.Skipf("no qemu-system-x86_64 (install qemu-system-x86); under CI this fails: %v", err)
	}
	sock := filepath.Join(t.TempDir(), "qmp.sock")
	cmd := exec.Command(bin, "-machine", "none", "-nographic", "-nodefaults",
		"-qmp", "unix:"+sock+",server=on,wait=off")
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			return sock, cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("QEMU made no monitor socket within 10s; it said: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recorder sits between the client and QEMU's monitor and keeps every line
// QEMU sends, so that a test sees what the client had to read past.
type recorder struct {
	sock  string
	mu    sync.Mutex
	lines []string
}

func newRecorder(t *testing.T, upstream string) *recorder {
	t.Helper()
	rec := &recorder{sock: filepath.Join(t.TempDir(), "rec.sock")}
	l, err := net.Listen("unix", rec.sock)
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
			q, err := net.Dial("unix", upstream)
			if err != nil {
				c.Close()
				continue
			}
			go func() { _, _ = io.Copy(q, c); q.Close() }()
			go func() {
				defer c.Close()
				s := bufio.NewScanner(q)
				for s.Scan() {
					rec.mu.Lock()
					rec.lines = append(rec.lines, s.Text())
					rec.mu.Unlock()
					if _, err := c.Write(append(s.Bytes(), '\n')); err != nil {
						return
					}
				}
			}()
		}
	}()
	return rec
}

func (r *recorder) transcript() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

// TestQMPRealQEMU drives the client against QEMU itself: the greeting and
// capabilities handshake, a query, an error reply, an event that arrives
// before the answer, reconnecting (the client closes after every command),
// and quit.
func TestQMPRealQEMU(t *testing.T) {
	sock, cmd := startQEMU(t)

	st, err := queryStatus(sock)
	if err != nil {
		t.Fatalf("query-status: %v", err)
	}
	if st != "running" {
		t.Fatalf("query-status of a fresh QEMU = %q, want running", st)
	}
	if vmFailed(st) {
		t.Fatalf("vmFailed(%q) = true", st)
	}

	err = qmpCommand(sock, "berth-no-such-command")
	if err == nil || !strings.Contains(err.Error(), "CommandNotFound") {
		t.Fatalf("unknown command: error %v, want QEMU's CommandNotFound", err)
	}

	// stop makes QEMU send a STOP event ahead of the command's return: the
	// client must read past it. The recorder proves the event was there.
	rec := newRecorder(t, sock)
	if err := qmpCommand(rec.sock, "stop"); err != nil {
		t.Fatalf("stop: %v", err)
	}
	lines := rec.transcript()
	event, ret := -1, -1
	for i, l := range lines {
		if event < 0 && strings.Contains(l, `"event": "STOP"`) {
			event = i
		}
		if event >= 0 && strings.HasPrefix(l, `{"return"`) {
			ret = i
		}
	}
	if event < 0 || ret < 0 {
		t.Fatalf("QEMU did not send a STOP event before stop's return; it sent:\n%s", strings.Join(lines, "\n"))
	}
	if st, err := queryStatus(sock); err != nil || st != "paused" {
		t.Fatalf("query-status after stop = %q, %v; want paused", st, err)
	}

	if err := qmpCommand(sock, "quit"); err != nil {
		t.Fatalf("quit: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("QEMU after quit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("QEMU still running 10s after quit")
	}
	if _, err := queryStatus(sock); err == nil {
		t.Fatal("query-status succeeded after QEMU quit")
	}
}
