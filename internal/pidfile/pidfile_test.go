package pidfile

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proc"
)

const childEnv = "BERTH_PIDFILE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "sleep" {
		time.Sleep(time.Minute)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// child starts the test binary as a sleeping process; stop kills and reaps it.
func child(t *testing.T) (pid int, stop func()) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=sleep")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	t.Cleanup(stop)
	return cmd.Process.Pid, stop
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAcquireReadRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.pid")
	f, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Stale() != nil {
		t.Errorf("Stale = %+v on a fresh acquire", f.Stale())
	}
	pid, alive, err := Read(path)
	if err != nil || pid != os.Getpid() || !alive {
		t.Fatalf("Read = %d, %v, %v; want %d, true, nil", pid, alive, err, os.Getpid())
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := f.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("pidfile after Release: %v", err)
	}
}

func TestAcquireLive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.pid")
	pid, _ := child(t)
	write(t, path, string(encode(pid)))
	_, err := Acquire(path)
	var running *RunningError
	if !errors.As(err, &running) || running.PID != pid {
		t.Fatalf("Acquire over a live pidfile: %v, want RunningError{PID: %d}", err, pid)
	}
	if want := "already running (pid " + strconv.Itoa(pid); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	// A pidfile written without identity (pid only) is still honoured.
	write(t, path, strconv.Itoa(pid)+"\n")
	if _, err := Acquire(path); !errors.As(err, &running) {
		t.Fatalf("Acquire over a pid-only live pidfile: %v", err)
	}
}

func TestAcquireTwiceInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.pid")
	f, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	var running *RunningError
	if _, err := Acquire(path); !errors.As(err, &running) || running.PID != os.Getpid() {
		t.Fatalf("second Acquire: %v", err)
	}
}

func TestAcquireStale(t *testing.T) {
	deadPID, stop := child(t)
	deadContent := string(encode(deadPID))
	stop()
	for _, tc := range []struct {
		name, content string
		pid           int
		reason        string
	}{
		{"dead pid", deadContent, deadPID, "process not running"},
		{"empty", "", 0, "empty"},
		{"garbage", "not a pid\n", 0, "no pid in it"},
		{"negative", "-5\n", 0, "no pid in it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "agent.pid")
			write(t, path, tc.content)
			f, err := Acquire(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Release()
			s := f.Stale()
			if s == nil || s.PID != tc.pid || s.Reason != tc.reason {
				t.Fatalf("Stale = %+v, want PID %d reason %q", s, tc.pid, tc.reason)
			}
			if pid, alive, err := Read(path); pid != os.Getpid() || !alive || err != nil {
				t.Fatalf("Read after replacing = %d, %v, %v", pid, alive, err)
			}
		})
	}
}

func TestAcquireReusedPID(t *testing.T) {
	if _, err := proc.Identity(os.Getpid()); err != nil {
		t.Skipf("no process identity here: %v", err)
	}
	// Our own, live pid, but recorded with another process's identity.
	path := filepath.Join(t.TempDir(), "agent.pid")
	write(t, path, strconv.Itoa(os.Getpid())+"\nsome-other-process\n")
	if _, alive, _ := Read(path); alive {
		t.Error("Read says alive for a reused pid")
	}
	f, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	if s := f.Stale(); s == nil || s.Reason != "pid reused by another process" {
		t.Fatalf("Stale = %+v, want a reused-pid report", s)
	}
}

func TestReleaseKeepsSuccessor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.pid")
	f, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	write(t, path, "12345\nsuccessor\n")
	if err := f.Release(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "12345\nsuccessor\n" {
		t.Fatalf("successor's pidfile was touched: %q", b)
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Read(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(missing) = %v, want ErrNotExist", err)
	}
	garbage := filepath.Join(dir, "garbage")
	write(t, garbage, "xyz")
	if _, _, err := Read(garbage); err == nil {
		t.Error("Read(garbage) succeeded")
	}
}
