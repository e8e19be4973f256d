package e2e

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/sockets"
)

const (
	benchPort    = 18200 // -p 18200:5001, netprobe tcp-bench
	benchHostfwd = 18201 // QEMU user networking's hostfwd to the guest's 18200
	benchBytes   = 256 << 20
	benchRuns    = 3
)

// BenchmarkPortForward: forwarded TCP throughput both ways next to QEMU
// user networking's hostfwd to the same guest (same disk, image and
// config, booted again with a user netdev instead of the virtual network)
// and host loopback; the time from a container's start event to its host
// port accepting; 1000 short connections through one forward.
func BenchmarkPortForward(b *testing.B) {
	e := newEnv(b)
	e.mustBerth(b, "start")
	e.buildProbeImage(b)
	e.mustDocker(b, "run", "-d", "--name", "bench", "--restart", "always", "-p", fmt.Sprintf("%d:5001", benchPort), probeImage, "netprobe", "tcp-bench", ":5001")
	fwd := fmt.Sprintf("127.0.0.1:%d", benchPort)
	waitBench(b, fwd, time.Minute)

	for range b.N {
		up, down := throughput(b, fwd)
		b.Logf("berth forward: host->container %.0f MB/s, container->host %.0f MB/s", up, down)
		b.ReportMetric(up, "fwd-up-MB/s")
		b.ReportMetric(down, "fwd-down-MB/s")

		lo := loopbackBenchServer(b)
		lup, ldown := throughput(b, lo)
		b.Logf("host loopback: %.0f MB/s up, %.0f MB/s down", lup, ldown)
		b.ReportMetric(lup, "loopback-up-MB/s")
		b.ReportMetric(ldown, "loopback-down-MB/s")

		p50, p99 := startToAccept(b, e, 30)
		b.Logf("start event -> host port accepting: p50 %v p99 %v", p50, p99)
		b.ReportMetric(float64(p50.Microseconds())/1000, "start-accept-p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "start-accept-p99-ms")

		errs, fdBefore, fdAfter := shortConnections(b, e, fwd, 1000)
		b.Logf("1000 short connections: %d errors; agent fds %d before, %d after", errs, fdBefore, fdAfter)
		b.ReportMetric(float64(errs), "short-conn-errors")
		b.ReportMetric(float64(fdAfter-fdBefore), "agent-fd-growth")

		hup, hdown := hostfwdThroughput(b, e)
		b.Logf("QEMU hostfwd: %.0f MB/s up, %.0f MB/s down; berth/hostfwd %.2fx up, %.2fx down", hup, hdown, up/hup, down/hdown)
		b.ReportMetric(hup, "hostfwd-up-MB/s")
		b.ReportMetric(hdown, "hostfwd-down-MB/s")
		b.ReportMetric(up/hup, "ratio-up")
		b.ReportMetric(down/hdown, "ratio-down")
	}
}

// waitBench waits until a tcp-bench server answers at addr.
func waitBench(b testing.TB, addr string, within time.Duration) {
	b.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if _, err := upload(addr, 1); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatalf("no tcp-bench server at %s after %s", addr, within)
}

// upload sends n bytes and returns the count the server saw.
func upload(addr string, n int64) (int64, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	w := bufio.NewWriterSize(c, 256<<10)
	_ = w.WriteByte('u')
	if _, err := io.CopyN(w, zeroReader{}, n); err != nil {
		return 0, err
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	_ = c.(*net.TCPConn).CloseWrite()
	var got uint64
	if err := binary.Read(c, binary.BigEndian, &got); err != nil {
		return 0, fmt.Errorf("reading the count: %w", err)
	}
	if int64(got) != n {
		return 0, fmt.Errorf("server saw %d bytes of %d", got, n)
	}
	return n, nil
}

func download(addr string, n int64) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	req := make([]byte, 9)
	req[0] = 'd'
	binary.BigEndian.PutUint64(req[1:], uint64(n))
	if _, err := c.Write(req); err != nil {
		return err
	}
	got, err := io.CopyBuffer(io.Discard, c, make([]byte, 256<<10))
	if err != nil || got != n {
		return fmt.Errorf("downloaded %d of %d: %w", got, n, err)
	}
	return nil
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// throughput returns the median MB/s of benchRuns uploads and downloads.
func throughput(b testing.TB, addr string) (up, down float64) {
	b.Helper()
	var ups, downs []float64
	for range benchRuns {
		t0 := time.Now()
		if _, err := upload(addr, benchBytes); err != nil {
			b.Fatalf("upload to %s: %v", addr, err)
		}
		ups = append(ups, benchBytes/1e6/time.Since(t0).Seconds())
		t0 = time.Now()
		if err := download(addr, benchBytes); err != nil {
			b.Fatalf("download from %s: %v", addr, err)
		}
		downs = append(downs, benchBytes/1e6/time.Since(t0).Seconds())
	}
	slices.Sort(ups)
	slices.Sort(downs)
	return ups[len(ups)/2], downs[len(downs)/2]
}

// loopbackBenchServer serves the tcp-bench protocol on host loopback: the
// ceiling.
func loopbackBenchServer(b testing.TB) string {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReaderSize(c, 256<<10)
				op, err := r.ReadByte()
				if err != nil {
					return
				}
				switch op {
				case 'u':
					n, _ := io.Copy(io.Discard, r)
					_ = binary.Write(c, binary.BigEndian, uint64(n))
				case 'd':
					var n uint64
					if binary.Read(r, binary.BigEndian, &n) == nil {
						_, _ = io.CopyN(c, zeroReader{}, int64(n))
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// startToAccept starts a stopped container n times and times, from the
// moment its start event reaches the host through Berth's docker socket,
// until its published port accepts on the host.
func startToAccept(b testing.TB, e *env, n int) (p50, p99 time.Duration) {
	b.Helper()
	const port = 18210
	e.mustDocker(b, "create", "--name", "lat", "-p", fmt.Sprintf("%d:80", port), probeImage, "httpd", "-f", "-p", "80", "-h", "/www")
	sock := filepath.Join(e.machineDir(), "docker.sock")
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return sockets.Dial(ctx, sock)
	}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, `http://docker/events?filters={"event":["start"],"container":["lat"]}`, nil)
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	events := make(chan time.Time, 1)
	go func() {
		dec := json.NewDecoder(resp.Body)
		for {
			var ev map[string]any
			if dec.Decode(&ev) != nil {
				return
			}
			events <- time.Now()
		}
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var ds []time.Duration
	for range n {
		e.mustDocker(b, "start", "lat")
		var seen time.Time
		select {
		case seen = <-events:
		case <-time.After(30 * time.Second):
			b.Fatal("no start event")
		}
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Since(seen) > 10*time.Second {
				b.Fatalf("%s not accepting 10s after the start event", addr)
			}
			time.Sleep(2 * time.Millisecond)
		}
		ds = append(ds, time.Since(seen))
		e.mustDocker(b, "stop", "-t", "0", "lat")
		waitRefusedB(b, addr)
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[(len(ds)*99)/100]
}

func waitRefusedB(b testing.TB, addr string) {
	for range 500 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("%s still accepting", addr)
}

func fdCount(pid int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents)
}

// shortConnections makes n connections in a row, each a tiny upload.
func shortConnections(b testing.TB, e *env, addr string, n int) (errs, before, after int) {
	pid := e.status(b).AgentPID
	before = fdCount(pid)
	for range n {
		if _, err := upload(addr, 16); err != nil {
			errs++
		}
	}
	time.Sleep(time.Second) // let closed connections be reaped
	return errs, before, fdCount(pid)
}

// hostfwdThroughput stops the machine, boots the same guest (its disk,
// image and boot config) under QEMU user networking with a hostfwd to the
// guest's published port, and measures the same transfers.
func hostfwdThroughput(b testing.TB, e *env) (up, down float64) {
	b.Helper()
	args := qemuArgs(b, e)
	e.mustBerth(b, "stop")
	args = userNetArgs(args, e.machineDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	logf, _ := os.Create(filepath.Join(e.machineDir(), "hostfwd-qemu.log"))
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addr := fmt.Sprintf("127.0.0.1:%d", benchHostfwd)
	waitBench(b, addr, 5*time.Minute) // the engine restarts the container
	return throughput(b, addr)
}

// qemuArgs reads the running VM's command line.
func qemuArgs(b testing.TB, e *env) []string {
	pid := e.status(b).VMPID
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		b.Fatalf("reading QEMU's command line: %v", err)
	}
	return strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
}

// userNetArgs swaps the virtual network for QEMU user networking laid out
// like Berth's (guest .2, gateway .1 as the source of forwarded
// connections) and drops what belongs to the agent (monitor, pidfile,
// shares, the console file); the card keeps its MSI-X vectors.
func userNetArgs(in []string, dir string) []string {
	out := []string{in[0]}
	drop := map[string]bool{"-qmp": true, "-pidfile": true}
	for i := 1; i < len(in); i++ {
		a := in[i]
		if i+1 < len(in) {
			v := in[i+1]
			switch {
			case drop[a],
				a == "-chardev" && strings.HasPrefix(v, "socket,"),
				a == "-device" && strings.HasPrefix(v, "vhost-user-fs"):
				i++
				continue
			case a == "-netdev":
				out = append(out, a, fmt.Sprintf("user,id=net0,net=192.168.127.0/24,host=192.168.127.1,dns=192.168.127.253,hostfwd=tcp:127.0.0.1:%d-192.168.127.2:%d", benchHostfwd, benchPort))
				i++
				continue
			case a == "-device" && strings.HasPrefix(v, "virtio-net-pci,"):
				// The card as QEMU's user networking runs it: with MSI-X
				// (a vhost-user card goes without it under TCG).
				out = append(out, a, strings.Replace(v, ",vectors=0", "", 1))
				i++
				continue
			case a == "-chardev" && strings.HasPrefix(v, "file,"):
				out = append(out, a, "file,id=console0,path="+filepath.Join(dir, "hostfwd-serial.log"))
				i++
				continue
			}
		}
		out = append(out, a)
	}
	return out
}
