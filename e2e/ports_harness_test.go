package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/portfwd"
)

// probeImage holds busybox, netprobe (a UDP echo and TCP throughput
// server, testdata/netprobe) and /www/index.html for httpd.
const probeImage = "berth-e2e/probe:1"

const probeBody = "berth-ports-ok"

func (e *env) buildProbeImage(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	copyBusybox(t, dir)
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "netprobe"), "./testdata/netprobe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building netprobe: %v\n%s", err, out)
	}
	if err := os.MkdirAll(filepath.Join(dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte(probeBody), 0o644); err != nil {
		t.Fatal(err)
	}
	dockerfile := `FROM scratch
COPY busybox netprobe /bin/
COPY www /www
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV PATH=/bin
CMD ["sh"]
`
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	e.mustDocker(t, "build", "-q", "-t", probeImage, dir)
}

// httpGet fetches url with a short timeout and no proxy.
func httpGet(url string) (string, error) {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := hc.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s", resp.Status)
	}
	return string(b), err
}

// expectBody waits until url answers with the probe body.
func expectBody(t *testing.T, url string, within time.Duration) time.Duration {
	t.Helper()
	t0 := time.Now()
	var last error
	for time.Since(t0) < within {
		body, err := httpGet(url)
		if err == nil && body == probeBody {
			return time.Since(t0)
		}
		last = fmt.Errorf("%w (body %q)", err, body)
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within %s: %v", url, within, last)
	return 0
}

// waitRefused waits until nothing accepts on addr and returns how long it took.
func waitRefused(t *testing.T, addr string, within time.Duration) time.Duration {
	t.Helper()
	t0 := time.Now()
	for time.Since(t0) < within {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return time.Since(t0)
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s still accepts after %s", addr, within)
	return 0
}

// udpEcho sends one datagram to addr and returns the answer.
func udpEcho(addr, msg string) (string, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	buf := make([]byte, 2048)
	for range 10 { // the first datagram may race the session's setup
		if _, err := c.Write([]byte(msg)); err != nil {
			return "", err
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		if err == nil {
			return string(buf[:n]), nil
		}
	}
	return "", fmt.Errorf("no answer from %s", addr)
}

func (e *env) agent() *api.Client {
	return api.NewClient(filepath.Join(e.machineDir(), "agent.sock"))
}

func (e *env) forwards(t testing.TB) []portfwd.Forward {
	t.Helper()
	out := e.mustBerth(t, "ports", "--json")
	var fs []portfwd.Forward
	if err := json.Unmarshal([]byte(out), &fs); err != nil {
		t.Fatalf("berth ports --json: %v\n%s", err, out)
	}
	return fs
}

// forwardsOn returns the forwards whose host port is port.
func forwardsOn(fs []portfwd.Forward, port int) []portfwd.Forward {
	var out []portfwd.Forward
	for _, f := range fs {
		if f.HostPort == port {
			out = append(out, f)
		}
	}
	return out
}

// eventLog collects the agent's forward events for a test.
type eventLog struct {
	mu  sync.Mutex
	evs []portfwd.Forward
}

func (e *env) followForwards(t *testing.T) *eventLog {
	l := &eventLog{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.agent().Events(ctx, func(ev api.Event) error {
			if ev.Type == "forward" && ev.Forward != nil {
				l.mu.Lock()
				l.evs = append(l.evs, *ev.Forward)
				l.mu.Unlock()
			}
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(100 * time.Millisecond) // subscribed before the test acts
	return l
}

func (l *eventLog) find(f func(portfwd.Forward) bool) (portfwd.Forward, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.evs {
		if f(ev) {
			return ev, true
		}
	}
	return portfwd.Forward{}, false
}
