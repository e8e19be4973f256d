package initd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/guest/guestconfig"
)

const (
	containerdSock = "/run/containerd/containerd.sock"
	dockerSock     = "/run/docker.sock"
	dockerPidFile  = "/run/docker.pid"
	daemonJSONPath = runDir + "/daemon.json"
	logCap         = 8 << 20 // per daemon log file in /run/berth

	containerdConfigPath = runDir + "/containerd.toml"
	// containerdConfig leaves out what dockerd never uses: Kubernetes' CRI
	// and the snapshotters of file systems the VM does not have. Loading
	// them costs start time (aufs even runs modprobe).
	containerdConfig = `version = 2
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]
`
)

// startEngine starts containerd, then dockerd, both supervised, once the
// data disk is ready. A failed data disk stops here: the engine's state
// would otherwise land in memory and vanish at the next boot.
func (in *Init) startEngine(netErr, fwErr error) {
	in.mu.Lock()
	disk := in.disk
	in.mu.Unlock()
	var reason string
	switch {
	case disk.State == agentapi.DiskFailed:
		reason = "data disk: " + disk.Error
	case netErr != nil:
		reason = "network: " + netErr.Error()
	case fwErr != nil:
		reason = "firewall (dockerd's TCP port would be open to every network peer): " + fwErr.Error()
	}
	daemonJSON, err := RenderDaemonJSON(in.cfg.Engine.DaemonJSON, time.Duration(in.cfg.Engine.StopTimeout), in.cfg.Network.MTU)
	if err == nil {
		err = os.WriteFile(daemonJSONPath, daemonJSON, 0o644)
	}
	if err != nil && reason == "" {
		reason = err.Error()
	}
	if reason != "" {
		in.mu.Lock()
		in.engineFailed = reason
		in.mu.Unlock()
		in.logf("the engine cannot start: %s", reason)
		return
	}

	containerd := &Supervisor{
		Name: "containerd",
		Start: in.daemonStarter("containerd", []string{"containerd", "--config", containerdConfigPath}, func() {
			_ = os.WriteFile(containerdConfigPath, []byte(containerdConfig), 0o644)
		}),
		Backoff:     DefaultBackoff,
		StopTimeout: 10 * time.Second,
		Logf:        in.logf,
	}
	dockerd := &Supervisor{
		Name: "dockerd",
		Start: in.daemonStarter("dockerd", []string{"dockerd",
			"--containerd", containerdSock,
			// The unix socket only: the init carries it to the private
			// network (serveDockerTCP).
			"-H", "unix://" + dockerSock,
			"--config-file", daemonJSONPath,
			"--pidfile", dockerPidFile,
		}, func() { _ = os.Remove(dockerPidFile) }),
		Backoff: DefaultBackoff,
		// dockerd gives containers shutdown-timeout (the StopTimeout) and
		// needs a little more for itself.
		StopTimeout: time.Duration(in.cfg.Engine.StopTimeout) + 15*time.Second,
		OnStart:     in.watchReady,
		BeforeStop:  in.endLiveRestore,
		Logf:        in.logf,
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stopping {
		return
	}
	in.containerd, in.dockerd = containerd, dockerd
	go in.serveDockerTCP()
	in.containerdStop, in.containerdDone = runSupervisor(containerd)
	in.dockerdStop, in.dockerdDone = runSupervisor(dockerd)
	in.boot.mark(markEngineGo)
}

func runSupervisor(s *Supervisor) (context.CancelFunc, chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	return cancel, done
}

// daemonStarter returns a Supervisor.Start that runs argv with its output
// in /run/berth/<name>.log (and on the console in debug mode).
func (in *Init) daemonStarter(name string, argv []string, before func()) func() (Proc, error) {
	file := &cappedFile{path: runDir + "/" + name + ".log", max: logCap}
	sinks := append([]io.Writer{file}, in.debugSinks()...)
	return func() (Proc, error) {
		if before != nil {
			before()
		}
		return in.spawn(argv, NewLineLog("["+name+"] ", 10, sinks...), nil)
	}
}

// endLiveRestore turns live-restore off in the running dockerd (a config
// reload, SIGHUP) before it is stopped, so that its stop stops the
// containers with their stop signal and timeout, as a dockerd without it
// does; it waits until /info says the reload is done, 5 s at most.
func (in *Init) endLiveRestore(p Proc) {
	b, err := os.ReadFile(daemonJSONPath)
	if err != nil {
		in.logf("live-restore stays on for the stop: %v", err)
		return
	}
	off, changed, err := WithoutLiveRestore(b)
	if err != nil || !changed {
		return
	}
	if err := os.WriteFile(daemonJSONPath, off, 0o644); err != nil {
		in.logf("live-restore stays on for the stop: %v", err)
		return
	}
	if err := p.Signal(syscall.SIGHUP); err != nil {
		return
	}
	hc := dockerSockClient(time.Second)
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var info struct{ LiveRestoreEnabled bool }
		if resp, err := hc.Get("http://docker/info"); err == nil {
			err = json.NewDecoder(resp.Body).Decode(&info)
			resp.Body.Close()
			if err == nil && !info.LiveRestoreEnabled {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	in.logf("dockerd did not turn live-restore off within 5s: its containers may be left running when it stops")
}

// dockerSockClient is an HTTP client of dockerd's unix socket.
func dockerSockClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", dockerSock)
		}},
	}
}

// watchReady polls dockerd's /_ping until it answers or the process exits.
func (in *Init) watchReady(p Proc) {
	in.mu.Lock()
	in.ready = false
	in.mu.Unlock()
	go func() {
		hc := dockerSockClient(2 * time.Second)
		defer hc.CloseIdleConnections()
		for {
			select {
			case <-p.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			resp, err := hc.Get("http://docker/_ping")
			if err != nil {
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				continue
			}
			in.mu.Lock()
			in.ready = true
			first := in.readyAt == nil
			if first {
				now := time.Now()
				in.readyAt = &now
			}
			in.mu.Unlock()
			if first {
				in.boot.mark(markDockerd)
				in.console.printf("%s", guestconfig.MarkerEngineReady)
			}
			in.logf("dockerd is ready (%.1fs after init started)", time.Since(in.start).Seconds())
			return
		}
	}()
}

// engineState derives the engine's state; in.mu must be held.
func (in *Init) engineState() agentapi.Engine {
	e := agentapi.Engine{ReadyAt: in.readyAt}
	switch {
	case in.stopping:
		e.State = agentapi.EngineStopping
	case in.engineFailed != "":
		e.State, e.Reason = agentapi.EngineFailed, in.engineFailed
	case in.dockerd == nil:
		e.State = agentapi.EngineStarting
	default:
		c, d := in.containerd.Status(), in.dockerd.Status()
		switch {
		case c.State != "running" && c.LastExit != "":
			e.State, e.Reason = agentapi.EngineRestarting, "containerd: "+SummarizeExit(c.LastExit)
		case d.State != "running" && d.LastExit != "":
			e.State, e.Reason = agentapi.EngineRestarting, "dockerd: "+SummarizeExit(d.LastExit)
		case d.State == "running" && in.ready:
			e.State = agentapi.EngineRunning
		default:
			e.State = agentapi.EngineStarting
		}
	}
	return e
}

// cappedFile appends to a log file on tmpfs and starts it over when it
// passes max bytes, so a chatty daemon cannot fill the guest's memory.
type cappedFile struct {
	path string
	max  int64
	mu   sync.Mutex
	f    *os.File
	n    int64
}

func (c *cappedFile) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil || c.n+int64(len(p)) > c.max {
		restarted := c.f != nil
		if restarted {
			c.f.Close()
		}
		f, err := os.OpenFile(c.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return len(p), nil // a log that cannot be written must not stop the daemon
		}
		c.f, c.n = f, 0
		if restarted {
			fmt.Fprintf(f, "--- log restarted at %d bytes ---\n", c.max)
		}
	}
	n, _ := c.f.Write(p)
	c.n += int64(n)
	return len(p), nil
}
