//go:build linux

package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sleepFor is how long the machine's CPUs stay stopped: ten minutes of
// wall clock, or BERTH_FAULTS_SLEEP (a Go duration) when set.
func sleepFor(t *testing.T) time.Duration {
	s := os.Getenv("BERTH_FAULTS_SLEEP")
	if s == "" {
		return 10 * time.Minute
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("BERTH_FAULTS_SLEEP: %v", err)
	}
	return d
}

// sleepFault simulates a laptop's sleep: QEMU stopped (SIGSTOP) while the
// host clock runs on, then woken. After it the guest clock is right within
// 5 s, a forward carries traffic, `docker logs -f` and `docker events` go
// on, and TLS from a container to the host checks the certificate's time.
func sleepFault(t *testing.T, rec *recoveries, fellAsleep func()) {
	e := newEnv(t)
	// Small, for the full data disk after the sleep.
	e.mustBerth(t, "config", "set", "disk", "4GiB")
	e.mustBerth(t, "start")
	const img = "berth-sleep"
	e.buildBusyboxImage(t, img)
	probe := e.buildTLSProbe(t)
	port := freePort(t)
	e.mustDocker(t, "run", "-d", "--name", "web", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), img, "httpd", "-f", "-p", "80", "-h", "/etc")
	url := fmt.Sprintf("http://127.0.0.1:%d/hostname", port)
	waitFor(t, "the published port", time.Minute, func() bool { return httpOK(url) })
	e.mustDocker(t, "run", "-d", "--name", "ticker", img, "sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done")
	logs := e.startStream(t, "logs", "-f", "ticker")
	events := e.startStream(t, "events", "--format", "{{.Action}} {{.Actor.Attributes.name}}")
	logs.waitLine(t, "a first line of docker logs -f", time.Minute, 0, func(string) bool { return true })

	st := e.status(t)
	d := sleepFor(t)
	if err := syscall.Kill(st.VMPID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			_ = syscall.Kill(st.VMPID, syscall.SIGCONT)
		}
	}()
	t.Logf("the VM's CPUs stopped for %s", d)
	fellAsleep()
	time.Sleep(d)
	before := logs.count()
	if err := syscall.Kill(st.VMPID, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	woke := time.Now()

	var drift time.Duration
	waitFor(t, "the guest clock within 1 s of the host's", time.Minute, func() bool {
		drift = e.guestDrift(t)
		return drift.Abs() < time.Second
	})
	clock := time.Since(woke)
	t.Logf("guest clock right %.1fs after the wake (drift %v)", clock.Seconds(), drift)
	if clock > 5*time.Second {
		t.Errorf("the guest clock took %.1fs to be right after the wake, want within 5 s", clock.Seconds())
	}
	waitFor(t, "the forward after the wake", 30*time.Second, func() bool { return httpOK(url) })
	t.Logf("the forward answered %.1fs after the wake", time.Since(woke).Seconds())

	// The streams go on (or end cleanly, which the docker CLI does not here).
	logs.waitLine(t, "docker logs -f to go on after the wake", time.Minute, before, func(string) bool { return true })
	e.mustDocker(t, "run", "--rm", "--name", "after-wake", img, "true")
	events.waitLine(t, "docker events to see a container after the wake", time.Minute, 0, func(l string) bool { return l == "start after-wake" })

	// TLS with a certificate valid from 30 s before now: a guest clock
	// left ten minutes behind would find it not yet valid.
	addr, pemCert := serveTLS(t, "tls-after-wake")
	_, port2, _ := net.SplitHostPort(addr)
	if out := e.mustDocker(t, "run", "--rm", probe, "/tlsprobe", "https://host.docker.internal:"+port2+"/", pemCert); strings.TrimSpace(out) != "tls-after-wake" {
		t.Errorf("TLS from a container to the host after the wake: %q", out)
	}
	rec.add(fmt.Sprintf("VM's CPUs stopped for %s (a sleep), then woken: time until the guest clock is right", d), clock,
		"guest clock within 1 s; the forward, `docker logs -f`, `docker events` go on; TLS to the host loopback verifies")

	t.Run("full data disk", func(t *testing.T) { fullDataDisk(t, e, img, url, rec) })
}

// fullDataDisk fills the running machine's data disk from a container:
// real data first (it takes room in the host's sparse image), then
// fallocate to the last block. The engine stays up, `docker system df`
// and `docker rm` work, status says the disk is full with the figures,
// and the space comes back to the host after the cleanup.
func fullDataDisk(t *testing.T, e *env, img, url string, rec *recoveries) {
	disk := filepath.Join(e.machineDir(), "data.img")
	before := allocated(t, disk)
	fill := `dd if=/dev/urandom of=/real bs=1M count=300 2>&1 | tail -1; i=0; ` +
		`for s in 1073741824 104857600 10485760 1048576 65536 4096; do ` +
		`while fallocate -l $s /fill$i 2>/dev/null; do i=$((i+1)); done; done; ` +
		`dd if=/dev/zero of=/last bs=4k 2>&1 | tail -1; df -k /`
	out := e.mustDocker(t, "run", "--name", "filler", img, "sh", "-c", fill)
	t.Logf("filled:\n%s", out)
	if f := strings.Fields(lastLine(out)); len(f) < 4 || f[3] != "0" {
		t.Fatalf("the data disk did not fill (df: %q)", lastLine(out))
	}
	full := allocated(t, disk)
	var st status
	waitFor(t, "berth status to say the data disk is full", 30*time.Second, func() bool {
		out, err := e.berth(t.Context(), "status")
		return err == nil && strings.Contains(out, "the data disk is full (")
	})
	st = e.status(t)
	t.Logf("status %s; berth status: %s", st.State, e.mustBerth(t, "status"))
	if !httpOK(url) {
		t.Errorf("the forward stopped answering when the data disk filled")
	}
	t0 := time.Now()
	if out := e.mustDocker(t, "system", "df"); !strings.Contains(out, "Containers") {
		t.Errorf("docker system df on a full disk: %s", out)
	}
	e.mustDocker(t, "rm", "filler")
	took := time.Since(t0)
	waitFor(t, "the space to come back to the host", 2*time.Minute, func() bool { return allocated(t, disk) < full-200<<20 })
	t.Logf("data.img allocated: %d MiB before, %d MiB full, %d MiB after the cleanup", before>>20, full>>20, allocated(t, disk)>>20)
	waitFor(t, "the warning to go", 30*time.Second, func() bool { return !strings.Contains(e.mustBerth(t, "status"), "data disk is full") })
	if out := e.mustDocker(t, "run", "--rm", img, "echo", "room again"); strings.TrimSpace(out) != "room again" {
		t.Errorf("a container after the cleanup: %q", out)
	}
	rec.add("data disk filled by a container (`docker system df`, then `docker rm` of it)", took,
		"the engine and a forward stay up; status says the disk is full with the figures; the host gets the space back")
}

var adjtimexTime = regexp.MustCompile(`time\.tv_sec:\s*(\d+)\s+time\.tv_usec:\s*(\d+)`)

// guestDrift is the guest's clock minus the host's, read with busybox
// adjtimex in the guest (microseconds; busybox date has no %N).
func (e *env) guestDrift(t *testing.T) time.Duration {
	t.Helper()
	sent := time.Now()
	out := e.mustBerth(t, "shell", "--", "busybox", "adjtimex")
	got := time.Now()
	m := adjtimexTime.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("busybox adjtimex in the guest: %q", out)
	}
	sec, _ := strconv.ParseInt(m[1], 10, 64)
	usec, _ := strconv.ParseInt(m[2], 10, 64)
	guest := time.Unix(sec, usec*1000)
	return guest.Sub(sent.Add(got.Sub(sent) / 2))
}

// buildTLSProbe builds the image holding testdata/tlsprobe, static, for
// the engine's architecture.
func (e *env) buildTLSProbe(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "tlsprobe"), ".")
	build.Dir = filepath.Join("testdata", "tlsprobe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building tlsprobe: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY tlsprobe /tlsprobe\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const tag = "berth-tlsprobe"
	e.mustDocker(t, "build", "-q", "-t", tag, dir)
	return tag
}

// serveTLS serves body over HTTPS on host loopback with a fresh
// self-signed certificate for host.docker.internal, valid from 30 s ago
// for an hour; it returns the address and the certificate's PEM.
func serveTLS(t *testing.T, body string) (addr, certPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "host.docker.internal"},
		DNSNames:     []string{"host.docker.internal"},
		NotBefore:    now.Add(-30 * time.Second), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	ln, err := tls.Listen("tcp4", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// stream is a docker CLI command whose output lines are kept as they come.
type stream struct {
	mu    sync.Mutex
	lines []string
	cmd   *exec.Cmd
	done  chan struct{}
	err   error
}

func (e *env) startStream(t *testing.T, args ...string) *stream {
	t.Helper()
	s := &stream{cmd: exec.Command("docker", args...), done: make(chan struct{})}
	s.cmd.Env = e.environ()
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			s.mu.Unlock()
		}
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { _ = s.cmd.Process.Kill(); <-s.done })
	return s
}

func (s *stream) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lines)
}

// waitLine waits for a line, the from-th or a later one, that ok accepts;
// a stream that ended is acceptable only if it ended cleanly (exit 0).
func (s *stream) waitLine(t *testing.T, what string, d time.Duration, from int, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, l := range s.lines[min(from, len(s.lines)):] {
			if ok(l) {
				s.mu.Unlock()
				return
			}
		}
		s.mu.Unlock()
		select {
		case <-s.done:
			if s.err != nil {
				t.Fatalf("%s: docker %s ended with %v; it printed:\n%s", what, strings.Join(s.cmd.Args[1:], " "), s.err, strings.Join(s.lines, "\n"))
			}
			t.Logf("%s: docker %s ended cleanly", what, strings.Join(s.cmd.Args[1:], " "))
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}
