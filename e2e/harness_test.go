// Package e2e boots the real VM, runs the real engine in it, and drives it
// with the real docker CLI through Berth's socket, as a user would. It runs
// when BERTH_E2E=1 (`make test-e2e`); BERTH_BIN names the berth binary and
// the guest image is found next to it as an install would have it.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/internal/sockets"
)

// env is one machine shared by the suite: BERTH_HOME and DOCKER_CONFIG of
// its own, so nothing of the user's is touched.
type env struct {
	bin       string
	home      string
	dockerCfg string
	// asUser, when set, runs berth as another user (TestFilesAsUser);
	// extraEnv comes last in every command's environment.
	asUser   *syscall.SysProcAttr
	extraEnv []string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvIn(t, "")
}

// newEnvIn is newEnv with BERTH_HOME made in dir ("" is the system's
// temporary directory).
func newEnvIn(t testing.TB, dir string) *env {
	t.Helper()
	if os.Getenv("BERTH_E2E") != "1" {
		t.Skip("end-to-end tests boot a VM: run them with `make test-e2e` (BERTH_E2E=1)")
	}
	bin := os.Getenv("BERTH_BIN")
	if bin == "" {
		t.Fatal("BERTH_BIN must name the berth binary")
	}
	for _, tool := range []string{"docker", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed on the host for the end-to-end suite: %v", tool, err)
		}
	}
	// A short directory: unix socket paths are limited to ~104 bytes.
	home, err := os.MkdirTemp(dir, "berth-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{bin: bin, home: home, dockerCfg: filepath.Join(home, "docker-config")}
	t.Cleanup(func() {
		if t.Failed() {
			e.dumpLogs(t)
		}
		// No save: the machine goes with the test.
		_, _ = e.berth(context.Background(), "stop", "--no-save", "--timeout", "60s")
		e.assertNothingLeft(t)
		os.RemoveAll(home)
	})
	return e
}

func (e *env) environ() []string {
	env := append(os.Environ(), "BERTH_HOME="+e.home, "DOCKER_CONFIG="+e.dockerCfg, "DOCKER_HOST=", "DOCKER_CONTEXT=berth")
	return append(env, e.extraEnv...)
}

// berth runs the CLI and returns its combined output.
func (e *env) berth(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Env = e.environ()
	cmd.SysProcAttr = e.asUser
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e *env) mustBerth(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	out, err := e.berth(ctx, args...)
	if err != nil {
		t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// docker runs the real docker CLI against the machine's context.
func (e *env) docker(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = e.environ()
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e *env) mustDocker(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := e.docker(ctx, nil, args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

type status struct {
	State       string    `json:"state"`
	DockerHost  string    `json:"dockerHost"`
	Accelerator string    `json:"accelerator"`
	AccelNote   string    `json:"accelNote"`
	AgentPID    int       `json:"agentPID"`
	VMPID       int       `json:"vmPID"`
	Error       string    `json:"error"`
	PausedSince time.Time `json:"pausedSince"`
	Timeline    *struct {
		Stages []struct {
			Name    string  `json:"name"`
			Seconds float64 `json:"seconds"`
		} `json:"stages"`
		Guest []struct {
			Name string  `json:"name"`
			At   float64 `json:"at"`
		} `json:"guest"`
		Restored bool `json:"restored"`
	} `json:"timeline"`
}

func (e *env) status(t testing.TB) status {
	t.Helper()
	out := e.mustBerth(t, "status", "--json")
	var st status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("berth status --json: %v\n%s", err, out)
	}
	return st
}

func (e *env) machineDir() string { return filepath.Join(e.home, "default") }

// assertNothingLeft checks that a stopped machine leaves no process, socket
// or pidfile behind.
func (e *env) assertNothingLeft(t testing.TB) {
	t.Helper()
	for _, f := range []string{"hostagent.pid", "qemu.pid", "agent.sock", "docker.sock", "net.sock", "qmp.sock"} {
		if _, err := os.Lstat(filepath.Join(e.machineDir(), f)); err == nil {
			t.Errorf("%s left behind after stop", f)
		}
	}
	out, _ := exec.Command("pgrep", "-f", e.home).CombinedOutput()
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("processes of this machine still running after stop: %s", s)
	}
}

func (e *env) dumpLogs(t testing.TB) {
	for _, f := range []string{"hostagent.log", "qemu.log", "serial.log", "virtiofsd.log"} {
		b, err := os.ReadFile(filepath.Join(e.machineDir(), f))
		if err != nil {
			continue
		}
		b = tail(b, 8000)
		t.Logf("=== %s (tail)\n%s", f, b)
	}
}

// buildBusyboxImage builds a FROM-scratch image holding Debian's static
// busybox: no registry is needed.
func (e *env) buildBusyboxImage(t testing.TB, tag string) {
	t.Helper()
	e.buildBusyboxImageFrom(t, tag, hostBusybox(t))
}

// buildBusyboxImageFrom is buildBusyboxImage with the busybox binary at
// path (one for the guest's architecture).
func (e *env) buildBusyboxImageFrom(t testing.TB, tag, busybox string) {
	t.Helper()
	e.buildBusyboxImageFor(t, tag, busybox, "")
}

// buildBusyboxImageFor builds it for a platform ("linux/arm64"; "" is the
// engine's own): its RUN step runs the busybox, so one of another
// architecture runs under emulation at build time too.
func (e *env) buildBusyboxImageFor(t testing.TB, tag, busybox, platform string) {
	t.Helper()
	dir := t.TempDir()
	copyBusyboxFrom(t, busybox, dir)
	dockerfile := `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV PATH=/bin
CMD ["sh"]
`
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"build", "-t", tag}
	if platform != "" {
		args = append(args, "--platform", platform)
	}
	e.mustDocker(t, append(args, dir)...)
}

func waitFor(t testing.TB, what string, d time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

func pidAlive(pid int) bool { return pid > 0 && proc.Alive(pid) }

// dockerInPTY runs the docker CLI on a pseudo-terminal, types input, and
// returns what the terminal showed once the command ended.
func (e *env) dockerInPTY(t testing.TB, input string, args ...string) string {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Env = e.environ()
	f, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&buf, f); close(done) }()
	io.WriteString(f, input)
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("docker %s did not finish; output: %q", strings.Join(args, " "), buf.String())
	}
	cmd.Wait()
	return buf.String()
}

// copyBusybox puts the host's static busybox into a build context.
func copyBusybox(t testing.TB, dir string) {
	t.Helper()
	copyBusyboxFrom(t, hostBusybox(t), dir)
}

func hostBusybox(t testing.TB) string {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal(err)
	}
	return bb
}

// copyBusyboxFrom puts the static busybox at bb into a build context.
func copyBusyboxFrom(t testing.TB, bb, dir string) {
	t.Helper()
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// tail is the last n bytes of b, all of it when it is shorter.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// socketClient is an HTTP client of the engine through the machine's
// docker socket, a new connection for every request.
func (e *env) socketClient() *http.Client {
	sock := filepath.Join(e.machineDir(), "docker.sock")
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return sockets.Dial(ctx, sock)
		}}}
}

// timeDockerVersion is how long `docker version` takes, as a user runs it.
func (e *env) timeDockerVersion(tb testing.TB) time.Duration {
	tb.Helper()
	t0 := time.Now()
	cmd := exec.Command("docker", "version")
	cmd.Env = e.environ()
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		tb.Fatalf("docker version: %v %s", err, buf.String())
	}
	return time.Since(t0)
}

// killAgent kills the machine's host agent (kill -9) and waits until it is
// gone; the VM runs on. It returns the status read before.
func (e *env) killAgent(t *testing.T) status {
	t.Helper()
	st := e.status(t)
	if err := proc.Kill(st.AgentPID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the agent to die", 10*time.Second, func() bool { return !pidAlive(st.AgentPID) })
	return st
}
