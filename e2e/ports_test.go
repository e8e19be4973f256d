package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/portfwd"
)

// Host ports of this suite: 18000-18999, loopback only where the test
// listens itself.
const (
	portAll     = 18080 // -p 18080:80
	portLo      = 18081 // -p 127.0.0.1:18081:80
	portV6Lo    = 18086 // -p [::1]:18086:80
	portV6LoUDP = 18087 // -p [::1]:18087:53/udp
	portUDP     = 18053 // -p 18053:53/udp
	portHostNet = 18090 // --network host, httpd on the guest's 18090
	portStop    = 18083
	portRm      = 18084
	portBusy    = 18070
	portBusyUDP = 18071
	portManual  = 18061
	portRestart = 18095
	portCompose = 18110
	rangeLo     = 18100
	rangeHi     = 18102
)

// TestPorts is the port forwarding suite over one machine; steps run in order.
func TestPorts(t *testing.T) {
	e := newEnv(t)
	t.Run("start", func(t *testing.T) { e.mustBerth(t, "start") })
	if t.Failed() {
		return
	}
	t.Run("probe image", func(t *testing.T) { e.buildProbeImage(t) })
	if t.Failed() {
		return
	}

	t.Run("published TCP on all addresses", func(t *testing.T) {
		e.mustDocker(t, "run", "-d", "--name", "all", "-p", fmt.Sprintf("%d:80", portAll), probeImage, "httpd", "-f", "-p", "80", "-h", "/www")
		d := expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", portAll), 10*time.Second)
		t.Logf("docker run -d returned; port answered %v later", d)
		expectBody(t, fmt.Sprintf("http://[::1]:%d/", portAll), 2*time.Second)
		fs := forwardsOn(e.forwards(t), portAll)
		if len(fs) != 1 || fs[0].HostIP != portfwd.AllAddresses || fs[0].Container != "all" || fs[0].State != portfwd.StateActive || fs[0].Proto != portfwd.TCP {
			t.Fatalf("berth ports for %d: %+v", portAll, fs)
		}
		// A wildcard listener: another loopback address of the host is taken too.
		if ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.2:%d", portAll)); err == nil {
			ln.Close()
			t.Fatalf("127.0.0.2:%d was free: the forward does not listen on every address", portAll)
		}
	})

	t.Run("published TCP on loopback", func(t *testing.T) {
		e.mustDocker(t, "run", "-d", "--name", "lo", "-p", fmt.Sprintf("127.0.0.1:%d:80", portLo), probeImage, "httpd", "-f", "-p", "80", "-h", "/www")
		expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", portLo), 10*time.Second)
		expectBody(t, fmt.Sprintf("http://[::1]:%d/", portLo), 2*time.Second)
		fs := forwardsOn(e.forwards(t), portLo)
		var ips []string
		for _, f := range fs {
			ips = append(ips, f.HostIP)
		}
		slices.Sort(ips)
		if !slices.Equal(ips, []string{"127.0.0.1", "::1"}) {
			t.Fatalf("loopback publish listens on %v, want 127.0.0.1 and ::1", ips)
		}
		// Only loopback: another address of the host stays free.
		ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.2:%d", portLo))
		if err != nil {
			t.Fatalf("127.0.0.2:%d taken by a loopback-only forward: %v", portLo, err)
		}
		ln.Close()
	})

	t.Run("published UDP", func(t *testing.T) {
		e.mustDocker(t, "run", "-d", "--name", "udp", "-p", fmt.Sprintf("%d:53/udp", portUDP), probeImage, "netprobe", "udp-echo", ":53")
		waitFor(t, "the UDP forward", 10*time.Second, func() bool {
			return len(forwardsOn(e.forwards(t), portUDP)) > 0
		})
		for _, host := range []string{"127.0.0.1", "::1"} {
			got, err := udpEcho(net.JoinHostPort(host, strconv.Itoa(portUDP)), "ping-"+host)
			if err != nil || got != "echo:ping-"+host {
				t.Fatalf("UDP through %s: %q %v", host, got, err)
			}
		}
	})

	t.Run("published UDP on IPv6 loopback", func(t *testing.T) {
		e.mustDocker(t, "run", "-d", "--name", "v6udp", "-p", fmt.Sprintf("[::1]:%d:53/udp", portV6LoUDP), probeImage, "netprobe", "udp-echo", ":53")
		waitFor(t, "the UDP forward", 10*time.Second, func() bool {
			return len(forwardsOn(e.forwards(t), portV6LoUDP)) == 2
		})
		for _, host := range []string{"::1", "127.0.0.1"} {
			got, err := udpEcho(net.JoinHostPort(host, strconv.Itoa(portV6LoUDP)), "v6-"+host)
			if err != nil || got != "echo:v6-"+host {
				t.Fatalf("UDP through %s to the guest's ::1: %q %v", host, got, err)
			}
		}
	})

	t.Run("published TCP on IPv6 loopback", func(t *testing.T) {
		e.mustDocker(t, "run", "-d", "--name", "v6lo", "-p", fmt.Sprintf("[::1]:%d:80", portV6Lo), probeImage, "httpd", "-f", "-p", "80", "-h", "/www")
		// The engine binds the guest's ::1; the host listens on both loopbacks.
		expectBody(t, fmt.Sprintf("http://[::1]:%d/", portV6Lo), 10*time.Second)
		expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", portV6Lo), 2*time.Second)
		for _, f := range forwardsOn(e.forwards(t), portV6Lo) {
			if f.GuestIP != "::1" || f.State != portfwd.StateActive {
				t.Errorf("forward of a [::1] publish: %+v", f)
			}
		}
	})

	t.Run("port range", func(t *testing.T) {
		cmd := fmt.Sprintf("httpd -p %d -h /www; httpd -p %d -h /www; httpd -f -p %d -h /www", rangeLo, rangeLo+1, rangeHi)
		e.mustDocker(t, "run", "-d", "--name", "range", "-p", fmt.Sprintf("%d-%d:%d-%d", rangeLo, rangeHi, rangeLo, rangeHi), probeImage, "sh", "-c", cmd)
		for p := rangeLo; p <= rangeHi; p++ {
			expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", p), 10*time.Second)
		}
	})

	t.Run("publish all (-P)", func(t *testing.T) {
		e.mustDocker(t, "run", "-d", "--name", "pall", "-P", "--expose", "80", probeImage, "httpd", "-f", "-p", "80", "-h", "/www")
		out := strings.TrimSpace(e.mustDocker(t, "port", "pall", "80/tcp"))
		_, port, err := net.SplitHostPort(strings.Split(out, "\n")[0])
		if err != nil {
			t.Fatalf("docker port: %q: %v", out, err)
		}
		expectBody(t, "http://127.0.0.1:"+port+"/", 10*time.Second)
	})

	t.Run("host network", func(t *testing.T) {
		e.mustDocker(t, "run", "-d", "--name", "hostnet", "--restart", "always", "--network", "host", probeImage, "httpd", "-f", "-p", strconv.Itoa(portHostNet), "-h", "/www")
		d := expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", portHostNet), 15*time.Second)
		t.Logf("--network host port answered %v after docker run", d)
		fs := forwardsOn(e.forwards(t), portHostNet)
		if len(fs) == 0 || fs[0].Source != portfwd.SourceGuest {
			t.Fatalf("forwards on %d: %+v", portHostNet, fs)
		}
	})

	t.Run("released after docker stop", func(t *testing.T) {
		e.mustDocker(t, "run", "-d", "--name", "stopme", "-p", fmt.Sprintf("%d:80", portStop), probeImage, "httpd", "-f", "-p", "80", "-h", "/www")
		expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", portStop), 10*time.Second)
		// A connection in flight is closed with the forward.
		inflight, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", portStop))
		if err != nil {
			t.Fatal(err)
		}
		defer inflight.Close()
		e.mustDocker(t, "stop", "-t", "1", "stopme")
		d := waitRefused(t, fmt.Sprintf("127.0.0.1:%d", portStop), 5*time.Second)
		t.Logf("host port closed %v after docker stop returned", d)
		if d > time.Second {
			t.Errorf("host port closed %v after the container stopped, want within 1s", d)
		}
		// And it stays closed: the engine's proxy, seen by a listener poll
		// just before it exited, must not come back as a guest forward.
		time.Sleep(1500 * time.Millisecond)
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", portStop), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d accepts again after the stop", portStop)
		}
		if fs := forwardsOn(e.forwards(t), portStop); len(fs) != 0 {
			t.Errorf("forwards left on %d: %+v", portStop, fs)
		}
		_ = inflight.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := inflight.Read(make([]byte, 1)); err == nil {
			t.Errorf("connection in flight still open")
		} else if isTimeout(err) {
			t.Errorf("connection in flight not closed: %v", err)
		}
	})

	t.Run("released after docker rm -f", func(t *testing.T) {
		e.mustDocker(t, "run", "-d", "--name", "rmme", "-p", fmt.Sprintf("%d:80", portRm), probeImage, "httpd", "-f", "-p", "80", "-h", "/www")
		expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", portRm), 10*time.Second)
		e.mustDocker(t, "rm", "-f", "rmme")
		d := waitRefused(t, fmt.Sprintf("127.0.0.1:%d", portRm), 5*time.Second)
		t.Logf("host port closed %v after docker rm -f returned", d)
		if d > time.Second {
			t.Errorf("host port closed %v after rm -f, want within 1s", d)
		}
	})

	t.Run("conflicting host port", func(t *testing.T) {
		evs := e.followForwards(t)
		busy, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", portBusy))
		if err != nil {
			t.Fatal(err)
		}
		e.mustDocker(t, "run", "-d", "--name", "busy", "-p", fmt.Sprintf("127.0.0.1:%d:80", portBusy), probeImage, "httpd", "-f", "-p", "80", "-h", "/www")
		var failed portfwd.Forward
		waitFor(t, "a failed forward", 10*time.Second, func() bool {
			for _, f := range forwardsOn(e.forwards(t), portBusy) {
				if f.HostIP == "127.0.0.1" && f.State == portfwd.StateFailed {
					failed = f
					return true
				}
			}
			return false
		})
		if !strings.Contains(failed.Reason, "in use") {
			t.Errorf("reason %q does not say the port is in use", failed.Reason)
		}
		if out := e.mustBerth(t, "ports"); !strings.Contains(out, "failed") || !strings.Contains(out, "in use") {
			t.Errorf("berth ports does not show the failure:\n%s", out)
		}
		if _, ok := evs.find(func(f portfwd.Forward) bool { return f.HostPort == portBusy && f.State == portfwd.StateFailed }); !ok {
			t.Errorf("no failed forward event")
		}
		if st := strings.TrimSpace(e.mustDocker(t, "inspect", "-f", "{{.State.Running}}", "busy")); st != "true" {
			t.Errorf("container not running: %s", st)
		}
		busy.Close()
		expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", portBusy), 5*time.Second)
		if _, ok := evs.find(func(f portfwd.Forward) bool {
			return f.HostPort == portBusy && f.HostIP == "127.0.0.1" && f.State == portfwd.StateActive
		}); !ok {
			t.Errorf("no active event after the port freed")
		}
	})

	t.Run("conflicting UDP host port", func(t *testing.T) {
		busy, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", portBusyUDP))
		if err != nil {
			t.Fatal(err)
		}
		e.mustDocker(t, "run", "-d", "--name", "busyudp", "-p", fmt.Sprintf("127.0.0.1:%d:53/udp", portBusyUDP), probeImage, "netprobe", "udp-echo", ":53")
		var failed portfwd.Forward
		waitFor(t, "a failed UDP forward", 10*time.Second, func() bool {
			for _, f := range forwardsOn(e.forwards(t), portBusyUDP) {
				if f.HostIP == "127.0.0.1" && f.Proto == portfwd.UDP && f.State == portfwd.StateFailed {
					failed = f
					return true
				}
			}
			return false
		})
		if !strings.Contains(failed.Reason, "in use") {
			t.Errorf("reason %q does not say the port is in use", failed.Reason)
		}
		// ::1 was free: that half forwards.
		if got, err := udpEcho(fmt.Sprintf("[::1]:%d", portBusyUDP), "v6"); err != nil || got != "echo:v6" {
			t.Errorf("UDP through ::1 while 127.0.0.1 is busy: %q %v", got, err)
		}
		if st := strings.TrimSpace(e.mustDocker(t, "inspect", "-f", "{{.State.Running}}", "busyudp")); st != "true" {
			t.Errorf("container not running: %s", st)
		}
		busy.Close()
		waitFor(t, "the UDP forward once the port freed", 10*time.Second, func() bool {
			got, err := udpEcho(fmt.Sprintf("127.0.0.1:%d", portBusyUDP), "freed")
			return err == nil && got == "echo:freed"
		})
	})

	t.Run("manual forwards", func(t *testing.T) {
		saved := filepath.Join(e.machineDir(), "forwards.json")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, bad := range []struct{ spec, want string }{
			{"0", "out of range"}, {"65536", "out of range"}, {"80/sctp", "unknown protocol"},
			{"web", "not a number"}, {"1.2.3:80", "IPv4"}, {"[::1:80", "]"},
		} {
			out, err := e.berth(ctx, "forward", "add", bad.spec)
			if err == nil || !strings.Contains(out, bad.want) {
				t.Errorf("forward add %q: err=%v out=%s", bad.spec, err, out)
			}
		}
		if _, err := os.Stat(saved); err == nil {
			t.Errorf("a bad spec saved %s", saved)
		}
		out := e.mustBerth(t, "forward", "add", fmt.Sprintf("%d:%d", portManual, portHostNet))
		if !strings.Contains(out, "active") {
			t.Errorf("forward add output: %s", out)
		}
		expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", portManual), 5*time.Second)
		expectBody(t, fmt.Sprintf("http://[::1]:%d/", portManual), 2*time.Second)
		b, err := os.ReadFile(saved)
		if err != nil || !strings.Contains(string(b), fmt.Sprintf("%d:%d/tcp", portManual, portHostNet)) {
			t.Fatalf("forwards.json: %s %v", b, err)
		}
		out, err = e.berth(ctx, "forward", "rm", "18999")
		if err == nil || !strings.Contains(out, "no such manual forward") {
			t.Errorf("rm of a missing forward: err=%v out=%s", err, out)
		}
		// A second one, removed again; the first stays for the restart step.
		e.mustBerth(t, "forward", "add", "127.0.0.1:18062:18090")
		expectBody(t, "http://127.0.0.1:18062/", 5*time.Second)
		e.mustBerth(t, "forward", "rm", "127.0.0.1:18062:18090")
		waitRefused(t, "127.0.0.1:18062", time.Second)
	})

	t.Run("host.docker.internal", func(t *testing.T) {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go serveText(ln, "hello-from-host")
		port := ln.Addr().(*net.TCPAddr).Port
		for _, args := range [][]string{
			{"run", "--rm", probeImage, "wget", "-qO-", fmt.Sprintf("http://host.docker.internal:%d/", port)},
			{"run", "--rm", "--add-host", "x:host-gateway", probeImage, "wget", "-qO-", fmt.Sprintf("http://x:%d/", port)},
		} {
			if out := e.mustDocker(t, args...); !strings.Contains(out, "hello-from-host") {
				t.Errorf("docker %v: %s", args, out)
			}
		}
		out := e.mustDocker(t, "run", "--rm", probeImage, "nslookup", "gateway.docker.internal")
		if !strings.Contains(out, "192.168.127.1") {
			t.Errorf("gateway.docker.internal: %s", out)
		}
		// Timed inside a running container: docker run's own time is not DNS.
		e.mustDocker(t, "run", "-d", "--name", "dns", probeImage, "sleep", "600")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		t0 := time.Now()
		out, err = e.docker(ctx, nil, "exec", "dns", "nslookup", "no-such-name.berth-test.invalid")
		d := time.Since(t0)
		t.Logf("lookup of an unknown name: %v in %v: %s", err, d, out)
		if err == nil {
			t.Errorf("an unknown name resolved: %s", out)
		}
		if !strings.Contains(out, "NXDOMAIN") {
			t.Errorf("no NXDOMAIN for an unknown name: %s", out)
		}
		if d > 10*time.Second {
			t.Errorf("an unknown name took %v to fail", d)
		}
	})

	t.Run("containers by name", func(t *testing.T) {
		e.mustDocker(t, "network", "create", "pnet")
		e.mustDocker(t, "run", "-d", "--name", "srv", "--network", "pnet", probeImage, "httpd", "-f", "-p", "80", "-h", "/www")
		out := e.mustDocker(t, "run", "--rm", "--network", "pnet", probeImage, "wget", "-qO-", "http://srv/")
		if !strings.Contains(out, probeBody) {
			t.Fatalf("by name: %s", out)
		}
	})

	t.Run("compose up and down", func(t *testing.T) {
		e.installCompose(t)
		dir := t.TempDir()
		yml := fmt.Sprintf(`services:
  web:
    image: %[1]s
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports: ["%[2]d:80"]
  probe:
    image: %[1]s
    command: ["sleep", "3600"]
`, probeImage, portCompose)
		if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yml), 0o644); err != nil {
			t.Fatal(err)
		}
		compose := func(args ...string) string {
			return e.mustDocker(t, append([]string{"compose", "--project-directory", dir, "-p", "berthports"}, args...)...)
		}
		compose("up", "-d")
		expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", portCompose), 15*time.Second)
		if out := compose("exec", "-T", "probe", "wget", "-qO-", "http://web/"); !strings.Contains(out, probeBody) {
			t.Errorf("probe -> web by service name: %s", out)
		}
		compose("down", "-t", "1")
		waitRefused(t, fmt.Sprintf("127.0.0.1:%d", portCompose), 2*time.Second)
	})

	t.Run("the VM is adopted and resynced after the agent is killed", func(t *testing.T) {
		e.mustDocker(t, "run", "-d", "--name", "survivor", "--restart", "always", "-p", fmt.Sprintf("%d:80", portRestart), probeImage, "httpd", "-f", "-p", "80", "-h", "/www")
		expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", portRestart), 10*time.Second)
		startedAt := e.mustDocker(t, "inspect", "-f", "{{.State.StartedAt}}", "survivor")
		st := e.status(t)
		p, err := os.FindProcess(st.AgentPID)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the agent to die", 10*time.Second, func() bool { return !pidAlive(st.AgentPID) })
		waitRefused(t, fmt.Sprintf("127.0.0.1:%d", portRestart), time.Second)
		t0 := time.Now()
		e.mustBerth(t, "start")
		t.Logf("berth start after the kill: %v", time.Since(t0))
		// The new agent adopted the VM: same QEMU, the container never stopped.
		if again := e.status(t); again.VMPID != st.VMPID || again.AgentPID == st.AgentPID {
			t.Errorf("after the agent's death: VM pid %d -> %d, agent %d -> %d; want the VM adopted", st.VMPID, again.VMPID, st.AgentPID, again.AgentPID)
		}
		if again := e.mustDocker(t, "inspect", "-f", "{{.State.StartedAt}}", "survivor"); again != startedAt {
			t.Errorf("the container restarted: started %s, now %s", startedAt, again)
		}
		expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", portRestart), 30*time.Second)
		expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", portManual), 30*time.Second) // manual forward kept
		if fs := forwardsOn(e.forwards(t), portRestart); len(fs) != 1 || fs[0].Container != "survivor" || fs[0].State != portfwd.StateActive {
			t.Errorf("forward of the restarted container: %+v", fs)
		}
		// Resynced from the engine: the containers that still run have
		// their forwards back, the stopped and removed ones none.
		for _, port := range []int{portStop, portRm} {
			if fs := forwardsOn(e.forwards(t), port); len(fs) != 0 {
				t.Errorf("stale forward after resync: %+v", fs)
			}
		}
		for _, port := range []int{portAll, portLo} {
			fs := forwardsOn(e.forwards(t), port)
			if len(fs) == 0 {
				t.Errorf("no forward for %d after resync", port)
			}
			for _, f := range fs {
				if f.State != portfwd.StateActive {
					t.Errorf("forward after resync: %+v", f)
				}
			}
		}
		expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", portAll), 5*time.Second)
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func serveText(ln net.Listener, text string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 4096)
			_, _ = c.Read(buf)
			fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(text), text)
		}()
	}
}
