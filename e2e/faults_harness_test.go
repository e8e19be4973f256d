//go:build linux

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvFaults gates the fault suite (`make test-faults`): it kills every
// process of a running machine in turn and stops its CPUs for ten minutes
// of wall clock, so it runs on its own, after the end-to-end suite.
const EnvFaults = "BERTH_E2E_FAULTS"

// recovery is one row of the README's "Reliability" table.
type recovery struct {
	fault   string
	seconds float64
	checked string
}

// recoveries collects the rows of every fault case, printed at the end.
type recoveries struct {
	mu   sync.Mutex
	rows []recovery
}

func (r *recoveries) add(fault string, took time.Duration, checked string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, recovery{fault, took.Seconds(), checked})
}

// table is the rows as the README's markdown table.
func (r *recoveries) table() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	b.WriteString("| fault | the engine runs a container again after | checked |\n|---|---|---|\n")
	for _, row := range r.rows {
		fmt.Fprintf(&b, "| %s | %.1f s | %s |\n", row.fault, row.seconds, row.checked)
	}
	return b.String()
}

// world is what a fault must not lose: the user's image, a named volume
// and its content, a container with a restart policy and its published
// port, a manual forward, the config; and what it must not leak: the
// machine's processes, its sockets, its host listeners, the agent's fds.
type world struct {
	e          *env
	image      string
	volume     string
	payload    string
	webPort    int // host port published by the container "web"
	manualPort int // host port of the manual forward to the host-network container
	config     []byte
	// The baseline of what the machine holds.
	procs     map[string]int
	sockets   []string
	listeners []string
	agentFDs  int
}

// setUpWorld puts the user's things on a running machine and takes the
// baseline.
func setUpWorld(t *testing.T, e *env, image string) *world {
	t.Helper()
	w := &world{e: e, image: image, volume: "faults-keep", payload: fmt.Sprintf("kept %d", time.Now().UnixNano())}
	e.buildBusyboxImage(t, image)
	e.mustDocker(t, "volume", "create", w.volume)
	e.mustDocker(t, "run", "--rm", "-v", w.volume+":/data", image, "sh", "-c", "echo '"+w.payload+"' > /data/file")
	w.webPort = freePort(t)
	e.mustDocker(t, "run", "-d", "--name", "web", "--restart", "unless-stopped", "-v", w.volume+":/data",
		"-p", fmt.Sprintf("127.0.0.1:%d:80", w.webPort), image, "httpd", "-f", "-p", "80", "-h", "/data")
	guestPort := 18000 + w.webPort%1000
	e.mustDocker(t, "run", "-d", "--name", "hostnet", "--restart", "unless-stopped", "--network", "host", "-v", w.volume+":/data",
		image, "httpd", "-f", "-p", strconv.Itoa(guestPort), "-h", "/data")
	w.manualPort = freePort(t)
	e.mustBerth(t, "forward", "add", fmt.Sprintf("127.0.0.1:%d:%d", w.manualPort, guestPort))
	var err error
	if w.config, err = os.ReadFile(filepath.Join(e.home, "config.yaml")); err != nil {
		t.Fatal(err)
	}
	w.waitServed(t, time.Minute)
	// The first forwards settle before the baseline.
	time.Sleep(2 * time.Second)
	w.procs, w.sockets, w.listeners, w.agentFDs = w.snapshot(t)
	t.Logf("baseline: processes %v, sockets %v, listeners %v, agent fds %d", w.procs, w.sockets, w.listeners, w.agentFDs)
	return w
}

// waitServed waits until the published port and the manual forward both
// serve the volume's file.
func (w *world) waitServed(t *testing.T, d time.Duration) {
	t.Helper()
	for _, port := range []int{w.webPort, w.manualPort} {
		url := fmt.Sprintf("http://127.0.0.1:%d/file", port)
		waitFor(t, "the volume's file through "+url, d, func() bool { return httpPayload(url) == w.payload })
	}
}

// engineAnswers is true when `docker version` answers through the socket.
func (w *world) engineAnswers() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := w.e.docker(ctx, nil, "version", "--format", "{{.Server.Version}}")
	return err == nil
}

// engineRuns is true when a container runs to its end: dockerd answers
// and containerd too (dockerd answers without it).
func (w *world) engineRuns() bool {
	if !w.engineAnswers() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := w.e.docker(ctx, nil, "run", "--rm", w.image, "true")
	return err == nil
}

// waitRecovered waits until the engine runs containers and the user's
// things are served again, and returns how long the first took since t0.
func (w *world) waitRecovered(t *testing.T, t0 time.Time, d time.Duration) time.Duration {
	t.Helper()
	waitFor(t, "the engine to run a container", d, w.engineRuns)
	took := time.Since(t0)
	w.waitServed(t, d)
	return took
}

// checkNothingLost is the check after every fault.
func (w *world) checkNothingLost(t *testing.T) {
	t.Helper()
	e := w.e
	e.mustDocker(t, "image", "inspect", w.image)
	if got := strings.TrimSpace(e.mustDocker(t, "run", "--rm", "-v", w.volume+":/data", w.image, "cat", "/data/file")); got != w.payload {
		t.Errorf("the volume holds %q, want %q", got, w.payload)
	}
	for _, c := range []string{"web", "hostnet"} {
		if got := strings.TrimSpace(e.mustDocker(t, "inspect", "--format", "{{.State.Running}}", c)); got != "true" {
			t.Errorf("container %s (--restart unless-stopped) running = %s", c, got)
		}
	}
	w.waitServed(t, time.Minute)
	if ports := e.mustBerth(t, "ports"); !strings.Contains(ports, strconv.Itoa(w.manualPort)) {
		t.Errorf("the manual forward %d is gone:\n%s", w.manualPort, ports)
	}
	if b, err := os.ReadFile(filepath.Join(e.home, "config.yaml")); err != nil || !bytes.Equal(b, w.config) {
		t.Errorf("config.yaml changed (err %v):\n%s\nwas:\n%s", err, b, w.config)
	}
	// What the machine holds settles back to the baseline: the forwards
	// of a restarted engine come back a moment after it answers.
	var procs map[string]int
	var sockets, listeners []string
	var fds int
	deadline := time.Now().Add(30 * time.Second)
	for {
		procs, sockets, listeners, fds = w.snapshot(t)
		same := mapsEqual(procs, w.procs) && slices.Equal(sockets, w.sockets) && slices.Equal(listeners, w.listeners) && fds <= w.agentFDs+fdSlack
		if same || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !mapsEqual(procs, w.procs) {
		t.Errorf("the machine's processes are %v, were %v", procs, w.procs)
	}
	if !slices.Equal(sockets, w.sockets) {
		t.Errorf("the machine's sockets are %v, were %v", sockets, w.sockets)
	}
	if !slices.Equal(listeners, w.listeners) {
		t.Errorf("the machine's host listeners are %v, were %v", listeners, w.listeners)
	}
	if fds > w.agentFDs+fdSlack {
		t.Errorf("the host agent holds %d fds, %d at the baseline", fds, w.agentFDs)
	}
}

// fdSlack is how many more fds than at the baseline an agent may hold:
// connections of the moment (a status call, a health check, a forward's
// idle connection kept by a client).
const fdSlack = 8

// snapshot is what the machine holds now: its processes by kind, the
// sockets in its directory, the host addresses its processes listen on,
// the agent's open fds.
func (w *world) snapshot(t *testing.T) (procs map[string]int, sockets, listeners []string, agentFDs int) {
	t.Helper()
	// The agent's command line does not name the machine's directory.
	agent := w.e.status(t).AgentPID
	pids := append(machinePIDs(t, w.e.home), agent)
	procs = map[string]int{}
	for _, pid := range pids {
		kind := processKind(cmdline(pid))
		if kind == "" {
			continue // a berth command of the moment
		}
		procs[kind]++
	}
	socks, _ := filepath.Glob(filepath.Join(w.e.machineDir(), "*.sock"))
	for _, s := range socks {
		sockets = append(sockets, filepath.Base(s))
	}
	sort.Strings(sockets)
	listeners = hostListeners(t, pids)
	if agent != 0 {
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", agent))
		agentFDs = len(ents)
	}
	return procs, sockets, listeners, agentFDs
}

// processKind names a machine process by what it is ("" for a passing
// berth command).
func processKind(cmd string) string {
	switch {
	case strings.Contains(cmd, " hostagent"):
		return "hostagent"
	case strings.Contains(cmd, "qemu-system"):
		return "qemu"
	case strings.Contains(cmd, "virtiofsd"):
		return "virtiofsd"
	case strings.Contains(cmd, "berth-tray"):
		return "tray"
	}
	return ""
}

var ssPID = regexp.MustCompile(`pid=(\d+),`)

// hostListeners are the TCP and UDP addresses the processes listen on,
// as `ss` lists them.
func hostListeners(t *testing.T, pids []int) []string {
	t.Helper()
	out, err := exec.Command("ss", "-Hltunp").Output()
	if err != nil {
		t.Fatalf("ss: %v", err)
	}
	var addrs []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		for _, m := range ssPID.FindAllStringSubmatch(line, -1) {
			if pid, _ := strconv.Atoi(m[1]); slices.Contains(pids, pid) {
				addrs = append(addrs, f[0]+" "+f[4])
				break
			}
		}
	}
	sort.Strings(addrs)
	return slices.Compact(addrs)
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// guestKill kills a guest process by name with SIGKILL, from a container
// that sees the guest's processes.
func (w *world) guestKill(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := w.e.berth(ctx, "shell", "--", "sh", "-c", "pid=$(busybox pidof "+name+") && echo $pid && kill -9 $pid")
	if err != nil {
		t.Fatalf("kill -9 %s in the guest: %v\n%s", name, err, out)
	}
	t.Logf("kill -9 %s (pid %s)", name, strings.TrimSpace(out))
}

// httpPayload is url's body, trimmed; "" when it does not answer 200.
func httpPayload(url string) string {
	body, err := httpGet(url)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(body)
}
