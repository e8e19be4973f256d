package proc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"
)

// childEnv makes the test binary act as a long-lived child process, which
// works on every OS, Windows included, without a sleep command.
const childEnv = "BERTH_PROC_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "sleep" {
		time.Sleep(time.Minute)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// startChild starts a sleeping child; it is reaped in the background so
// that it can disappear, and killed at the end of the test.
func startChild(t *testing.T, detached bool) (cmd *exec.Cmd, wait func() error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=sleep")
	if detached {
		Detach(cmd)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	wait = func() error {
		<-exited
		return waitErr
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = wait()
	})
	return cmd, wait
}

func TestAlive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Error("Alive(self) = false")
	}
	for _, pid := range []int{0, -1} {
		if Alive(pid) {
			t.Errorf("Alive(%d) = true", pid)
		}
	}
}

func TestTerminateThenWaitExit(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(int) error
	}{{"Terminate", Terminate}, {"Kill", Kill}} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, wait := startChild(t, false)
			pid := cmd.Process.Pid
			if !Alive(pid) {
				t.Fatal("child not alive after Start")
			}
			if err := tc.stop(pid); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := WaitExit(ctx, pid, 20*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if err := wait(); err == nil {
				t.Error("child exited cleanly; want it stopped")
			}
			if Alive(pid) {
				t.Error("Alive after exit")
			}
			if err := tc.stop(pid); !errors.Is(err, ErrNoProcess) {
				t.Errorf("%s of an exited pid: %v, want ErrNoProcess", tc.name, err)
			}
		})
	}
}

func TestWaitExitTimesOut(t *testing.T) {
	cmd, _ := startChild(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := WaitExit(ctx, cmd.Process.Pid, 20*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitExit on a live child: %v, want DeadlineExceeded", err)
	}
}

func TestDetachedChildRunsAndStops(t *testing.T) {
	cmd, _ := startChild(t, true)
	pid := cmd.Process.Pid
	if !Alive(pid) {
		t.Fatal("detached child not alive")
	}
	checkDetached(t, pid)
	if err := Kill(pid); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := WaitExit(ctx, pid, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

func TestIdentity(t *testing.T) {
	self, err := Identity(os.Getpid())
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("no process identity on this OS")
	}
	if err != nil {
		t.Fatal(err)
	}
	again, err := Identity(os.Getpid())
	if err != nil || again != self {
		t.Fatalf("Identity(self) changed: %q then %q (%v)", self, again, err)
	}
	time.Sleep(20 * time.Millisecond) // start times can be coarse
	cmd, _ := startChild(t, false)
	child, err := Identity(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if child == self {
		t.Fatalf("child and parent share identity %q", self)
	}
}
