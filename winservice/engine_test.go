package winservice

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestEngineArgs(t *testing.T) {
	root := DataRoot(`C:\ProgramData\`)
	if root != `C:\ProgramData\Berth\windows` {
		t.Fatalf("DataRoot = %s", root)
	}
	got := strings.Join(EngineArgs(root, "berth-users"), " ")
	want := `--data-root C:\ProgramData\Berth\windows --exec-root C:\ProgramData\Berth\windows\exec-root ` +
		`--pidfile C:\ProgramData\Berth\windows\dockerd.pid --config-file C:\ProgramData\Berth\windows\daemon.json ` +
		`-H npipe:////./pipe/berth-windows-engine --group berth-users`
	if got != want {
		t.Fatalf("EngineArgs =\n%s\nwant\n%s", got, want)
	}
}

func TestFindDockerd(t *testing.T) {
	pf := `C:\Program Files`
	has := func(paths ...string) func(string) bool {
		return func(p string) bool {
			for _, x := range paths {
				if p == x {
					return true
				}
			}
			return false
		}
	}
	desktop, static := pf+`\Docker\Docker\resources\dockerd.exe`, pf+`\docker\dockerd.exe`
	for _, tc := range []struct {
		explicit string
		exists   func(string) bool
		want     string
		err      string
	}{
		{"", has(desktop, static), desktop, ""},
		{"", has(static), static, ""},
		{`D:\moby\dockerd.exe`, has(`D:\moby\dockerd.exe`, desktop), `D:\moby\dockerd.exe`, ""},
		{`D:\moby\dockerd.exe`, has(desktop), "", `D:\moby\dockerd.exe (the service's -dockerd) does not exist`},
		{"", has(), "", "no dockerd.exe found (looked for " + desktop + ", " + static + ")"},
	} {
		got, err := FindDockerd(tc.explicit, pf, tc.exists)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want %q", tc.explicit, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %s, %v; want %s", tc.explicit, got, err, tc.want)
		}
	}
}

// TestMain lets the test binary be the engine in the supervisor's tests
// (and, under Wine, the engine stand-ins serving a pipe).
func TestMain(m *testing.M) {
	switch os.Getenv("BERTH_WINSERVICE_HELPER") {
	case "exit":
		os.Exit(3)
	case "sleep":
		time.Sleep(time.Minute)
		os.Exit(0)
	case "":
	default:
		runHelper(os.Getenv("BERTH_WINSERVICE_HELPER"))
		return
	}
	os.Exit(m.Run())
}

func helperStarter(t *testing.T, mode string) Starter {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return func(context.Context) (Process, error) {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "BERTH_WINSERVICE_HELPER="+mode)
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return execProcess{cmd}, nil
	}
}

// A real engine process that dies is started again, with pauses; the
// supervisor's end kills the one that runs and waits for it.
func TestSupervisorRestartsAndLeavesNoProcess(t *testing.T) {
	l := &recordLog{}
	dies := helperStarter(t, "exit")
	lives := helperStarter(t, "sleep")
	starts := 0
	var last Process
	s := &Supervisor{Log: l, MinPause: 10 * time.Millisecond, MaxPause: 40 * time.Millisecond, Dockerd: `C:\x\dockerd.exe`,
		Start: func(ctx context.Context) (Process, error) {
			starts++
			if starts <= 3 {
				return dies(ctx)
			}
			p, err := lives(ctx)
			last = p
			return p, err
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for s.Status().State != "running" || s.Status().Restarts < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v after 20 s", s.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := s.Status()
	if st.PID == 0 || st.Restarts != 3 || st.Host != EngineHost || st.Dockerd != `C:\x\dockerd.exe` {
		t.Fatalf("status %+v", st)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if st := s.Status(); st.State != "stopped" || st.PID != 0 {
		t.Fatalf("after the end: %+v", st)
	}
	if err := last.Wait(); err == nil || !strings.Contains(err.Error(), "Wait was already called") {
		t.Fatalf("the engine was not waited for: %v", err)
	}
	warnings := 0
	for _, e := range l.all() {
		if strings.HasPrefix(e, "warning 10 the Windows engine stopped") {
			warnings++
		}
	}
	if warnings != 3 {
		t.Fatalf("event log:\n%s", strings.Join(l.all(), "\n"))
	}
}
