package e2e

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingProxy is an HTTP proxy on host loopback that records what it is
// asked for and refuses it: enough to see that the engine uses it.
type recordingProxy struct {
	ln   net.Listener
	mu   sync.Mutex
	seen []string
}

func newRecordingProxy(t *testing.T) *recordingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				p.mu.Lock()
				p.seen = append(p.seen, req.Method+" "+req.Host)
				p.mu.Unlock()
				c.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *recordingProxy) requests() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.seen, "\n")
}

func (p *recordingProxy) url() string { return "http://" + p.ln.Addr().String() }

func dockerInfo(t *testing.T, e *env, format string) string {
	t.Helper()
	return strings.TrimSpace(e.mustDocker(t, "info", "--format", format))
}

// TestMachineLifecycle: resources from the config, a config change applied
// by restart, the engine's proxy, the engine coming back after a crash,
// and delete leaving nothing behind.
func TestMachineLifecycle(t *testing.T) {
	e := newEnv(t)
	e.mustBerth(t, "config", "set", "cpus", "1")
	e.mustBerth(t, "config", "set", "memory", "1GiB")

	t.Run("resources from the config", func(t *testing.T) {
		e.mustBerth(t, "start")
		if n := dockerInfo(t, e, "{{.NCPU}}"); n != "1" {
			t.Errorf("NCPU = %s, want 1", n)
		}
		mem, _ := strconv.ParseInt(dockerInfo(t, e, "{{.MemTotal}}"), 10, 64)
		if mem < 700<<20 || mem > 1<<30 {
			t.Errorf("MemTotal = %d, want about 1GiB", mem)
		}
	})
	if t.Failed() {
		return
	}

	proxy := newRecordingProxy(t)
	t.Run("config change needs and gets a restart", func(t *testing.T) {
		out := e.mustBerth(t, "config", "set", "cpus", "2")
		if !strings.Contains(out, "berth restart") {
			t.Errorf("set on a running machine does not say a restart applies it:\n%s", out)
		}
		e.mustBerth(t, "config", "set", "engine.proxy.https", proxy.url())
		e.mustBerth(t, "config", "set", "disk", "80GiB")
		metricsPort := freePort(t)
		e.mustBerth(t, "config", "set", "engine.metricsPort", strconv.Itoa(metricsPort))
		e.mustBerth(t, "restart")
		if n := dockerInfo(t, e, "{{.NCPU}}"); n != "2" {
			t.Errorf("NCPU after restart = %s, want 2", n)
		}
		// The data disk grew and the file system with it.
		out = e.mustBerth(t, "shell", "--", "df", "-k", "/var/lib/docker")
		if f := strings.Fields(lastLine(out)); len(f) < 2 || !atLeast(f[1], 75<<20) {
			t.Errorf("data file system after growing the disk to 80GiB: %q", out)
		}
		// The engine's metrics, on host loopback.
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(metricsPort) + "/metrics")
		if err != nil {
			t.Fatalf("metrics: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "engine_daemon_") {
			t.Errorf("metrics endpoint answered %s: %.200s", resp.Status, b)
		}
	})

	t.Run("diagnose bundle", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "bundle.tar.gz")
		e.mustBerth(t, "diagnose", "-o", out)
		files := readTarGz(t, out)
		for name, want := range map[string]string{
			"status.json":   `"state": "running"`,
			"versions.txt":  "guest image:",
			"serial.log":    "BERTH-INIT-STARTED",
			"hostagent.log": "engine ready",
			"config.yaml":   "metricsPort",
		} {
			if !strings.Contains(files[name], want) {
				t.Errorf("bundle's %s lacks %q", name, want)
			}
		}
	})

	t.Run("pulls go through the proxy", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := e.docker(ctx, nil, "pull", "registry.berth.test/team/app:1")
		if err == nil {
			t.Fatalf("pull through a refusing proxy succeeded: %s", out)
		}
		if got := proxy.requests(); !strings.Contains(got, "CONNECT registry.berth.test:443") {
			t.Fatalf("the proxy did not see the engine's request; it saw %q; docker said %s", got, out)
		}
	})

	t.Run("the engine comes back after kill -9", func(t *testing.T) {
		e.buildBusyboxImage(t, image)
		// A published port too: the agent's event stream drops with the
		// engine, and the full resync after it must bring the forward back.
		port := freePort(t)
		e.mustDocker(t, "run", "-d", "--name", "always", "--restart=always", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), image, "httpd", "-f", "-p", "80", "-h", "/etc")
		url := fmt.Sprintf("http://127.0.0.1:%d/hostname", port)
		waitFor(t, "the published port before the crash", time.Minute, func() bool { return httpOK(url) })
		started := strings.TrimSpace(e.mustDocker(t, "inspect", "--format", "{{.State.StartedAt}}", "always"))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		_, _ = e.docker(ctx, nil, "run", "--rm", "--privileged", "--pid=host", image, "sh", "-c", "kill -9 $(pidof dockerd)")
		cancel()
		t0 := time.Now()
		sawDegraded := ""
		waitFor(t, "the engine to answer again", 4*time.Minute, func() bool {
			if st := e.status(t); st.State == "degraded" {
				sawDegraded = st.Error
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := e.docker(ctx, nil, "inspect", "--format", "{{.State.Running}}", "always")
			return err == nil && strings.TrimSpace(out) == "true"
		})
		t.Logf("engine back and --restart=always container running %.1fs after kill -9 of dockerd", time.Since(t0).Seconds())
		waitFor(t, "the published port after the engine came back", time.Minute, func() bool { return httpOK(url) })
		t.Logf("its published port answered again %.1fs after the kill", time.Since(t0).Seconds())
		// The engine runs with live-restore: the container never stopped.
		if now := strings.TrimSpace(e.mustDocker(t, "inspect", "--format", "{{.State.StartedAt}}", "always")); now != started {
			t.Errorf("the container was restarted (started %s, now %s): live-restore should have kept it running", started, now)
		}
		// While it came back, status said why, when the engine was away
		// longer than the agent's health checks (every 5 s) can miss.
		if took := time.Since(t0); took > 3*healthCheckPeriod && !strings.Contains(sawDegraded, "dockerd") && !strings.Contains(sawDegraded, "engine") {
			t.Errorf("status never showed degraded with the reason during the %v restart (last seen: %q)", took.Round(time.Second), sawDegraded)
		}
		if st := e.status(t); st.State != "running" && st.State != "degraded" {
			t.Errorf("state after the engine's crash: %+v", st)
		}
		e.mustDocker(t, "image", "inspect", image)
	})

	t.Run("delete leaves nothing", func(t *testing.T) {
		e.mustBerth(t, "context", "use")
		out := e.mustBerth(t, "delete", "--force")
		if !strings.Contains(out, "deleted") {
			t.Fatalf("delete: %s", out)
		}
		if _, err := os.Stat(e.machineDir()); !os.IsNotExist(err) {
			t.Fatalf("machine directory still there: %v", err)
		}
		e.assertNothingLeft(t)
		if st := e.status(t); st.State != "stopped" {
			t.Fatalf("status after delete: %+v", st)
		}
	})
}

// healthCheckPeriod is how often the agent asks the guest how it is.
const healthCheckPeriod = 5 * time.Second

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func atLeast(s string, n int64) bool {
	v, err := strconv.ParseInt(s, 10, 64)
	return err == nil && v >= n
}

func readTarGz(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(tr)
		files[filepath.Base(h.Name)] = string(b)
	}
	return files
}

func httpOK(url string) bool {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
