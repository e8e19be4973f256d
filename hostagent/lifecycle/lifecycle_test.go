package lifecycle

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/store"
)

func machine(t *testing.T) store.Machine {
	t.Helper()
	m, err := store.Open(t.TempDir(), "default")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStartWithoutImage(t *testing.T) {
	m := machine(t)
	_, err := Start(context.Background(), StartOptions{Machine: m, Exe: "/nonexistent", ImageDir: t.TempDir(), Progress: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "make image") {
		t.Fatalf("start without an image: %v", err)
	}
	if _, err := os.Stat(m.Path(store.AgentPIDFile)); err == nil {
		t.Fatal("a pidfile was left by a failed start")
	}
}

func TestStopWhenStopped(t *testing.T) {
	m := machine(t)
	res, err := Stop(context.Background(), StopOptions{Machine: m, Progress: &bytes.Buffer{}})
	if err != nil || res.WasRunning || len(res.Findings) != 0 {
		t.Fatalf("stop of a stopped machine: %+v %v", res, err)
	}
}

func TestStopCleansStaleState(t *testing.T) {
	m := machine(t)
	if err := m.Ensure(); err != nil {
		t.Fatal(err)
	}
	// An agent that died: a pidfile naming a dead process, sockets left.
	os.WriteFile(m.Path(store.AgentPIDFile), []byte("999999999\n"), 0o600)
	for _, f := range []string{store.AgentSock, store.DockerSock} {
		os.WriteFile(m.Path(f), nil, 0o600)
	}
	res, err := Stop(context.Background(), StopOptions{Machine: m, Progress: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(res.Findings, "\n")
	for _, want := range []string{"stale pidfile", "agent.sock", "docker.sock"} {
		if !strings.Contains(all, want) {
			t.Errorf("findings lack %q: %s", want, all)
		}
	}
	for _, f := range []string{store.AgentPIDFile, store.AgentSock, store.DockerSock} {
		if _, err := os.Stat(m.Path(f)); err == nil {
			t.Errorf("%s left behind", f)
		}
	}
}

func TestStatusWhenStopped(t *testing.T) {
	m := machine(t)
	st, err := Status(context.Background(), m)
	if err != nil || st.State != api.StateStopped || st.DockerHost != m.DockerHost() {
		t.Fatalf("status: %+v %v", st, err)
	}
}

func TestProgressLines(t *testing.T) {
	t0 := time.Now()
	cases := []struct {
		st   api.Status
		want string
	}{
		{api.Status{State: api.StateStarting, Phase: "booting"}, "Booting the VM..."},
		{api.Status{State: api.StateStarting, Phase: "engine", Driver: "qemu", Accelerator: "tcg", AccelNote: "KVM failed"}, "note: KVM failed"},
		{api.Status{State: api.StateRunning, StartedAt: t0, ReadyAt: t0.Add(1500 * time.Millisecond)}, "Engine ready in 1.5s."},
		{api.Status{State: api.StateDegraded, Error: "engine restarting"}, "degraded: engine restarting"},
	}
	for _, c := range cases {
		if got := progressLine(c.st); !strings.Contains(got, c.want) {
			t.Errorf("progressLine(%+v) = %q, want %q", c.st, got, c.want)
		}
	}
}
