package lifecycle

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/sockets"
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

// A start that meets a machine whose agent is still stopping (its VM was
// killed a moment ago) waits for that agent to end, then starts the
// machine; it used to follow the stopping agent and fail with its end.
func TestStartWaitsForAStoppingAgent(t *testing.T) {
	m := machine(t)
	if err := m.Ensure(); err != nil {
		t.Fatal(err)
	}
	// The winding-down agent: a process that ends in a second, its pidfile,
	// and its control API answering "stopping" (a stand-in for the agent's
	// API, with the agent's own types).
	winding := exec.Command("sleep", "1")
	began := time.Now()
	if err := winding.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = winding.Wait(); close(exited) }()
	if err := os.WriteFile(m.Path(store.AgentPIDFile), []byte(strconv.Itoa(winding.Process.Pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := sockets.Listen(m.AgentSocket())
	if err != nil {
		t.Fatal(err)
	}
	stopping := api.Status{Machine: m.Name, State: api.StateStopping, Phase: "engine"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) { _ = json.NewEncoder(w).Encode(stopping) })
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(api.Event{Type: "status", Status: &api.Status{Machine: m.Name, State: api.StateStopped}})
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	var out bytes.Buffer
	// No image here: a start that got past the stopping agent fails on
	// that, before it would spawn a new agent.
	_, err = Start(context.Background(), StartOptions{Machine: m, Exe: "/nonexistent", ImageDir: t.TempDir(), Progress: &out, Timeout: 30 * time.Second})
	// The old agent lives a second: a start that returned sooner did not
	// wait for it (its reaping here may come a moment after Start saw it
	// gone).
	if d := time.Since(began); d < time.Second {
		t.Fatalf("Start returned %v after the old agent started, while it still ran: %v", d, err)
	}
	<-exited
	if err == nil || !strings.Contains(err.Error(), "make image") {
		t.Fatalf("start after a stopping agent: %v (progress: %q)", err, out.String())
	}
	if !strings.Contains(out.String(), "waiting for it to stop") {
		t.Errorf("progress does not say it waits: %q", out.String())
	}
}

// A start that meets a stopped machine whose agent stands by (a dashboard
// page keeps it up) starts the machine in that agent, with the options it
// was given, and follows it; it spawns nothing.
func TestStartInAStandingByAgent(t *testing.T) {
	m := machine(t)
	if err := m.Ensure(); err != nil {
		t.Fatal(err)
	}
	// The agent: a live process's pid (this test's), and a stand-in for
	// its control API, with the agent's own types.
	if err := os.WriteFile(m.Path(store.AgentPIDFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := sockets.Listen(m.AgentSocket())
	if err != nil {
		t.Fatal(err)
	}
	var started atomic.Pointer[api.StartRequest]
	status := func() api.Status {
		if started.Load() != nil {
			return api.Status{Machine: m.Name, State: api.StateRunning}
		}
		return api.Status{Machine: m.Name, State: api.StateStopped, Standby: true}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) { _ = json.NewEncoder(w).Encode(status()) })
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, _ *http.Request) {
		st := status()
		_ = json.NewEncoder(w).Encode(api.Event{Type: "status", Status: &st})
	})
	mux.HandleFunc("POST /v1/start", func(w http.ResponseWriter, r *http.Request) {
		var req api.StartRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		started.Store(&req)
		w.WriteHeader(http.StatusAccepted)
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	var out bytes.Buffer
	res, err := Start(context.Background(), StartOptions{Machine: m, Exe: "/nonexistent", ImageDir: t.TempDir(), Accel: "tcg", Progress: &out, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("start in a standing-by agent: %v (progress: %q)", err, out.String())
	}
	if res.Status.State != api.StateRunning || res.AlreadyRunning {
		t.Errorf("result %+v", res)
	}
	if req := started.Load(); req == nil || req.Accel != "tcg" {
		t.Errorf("the agent was asked %+v, want a start with accel tcg", req)
	}
	if !strings.Contains(out.String(), "starting it there") {
		t.Errorf("progress %q does not say where it starts", out.String())
	}
}
