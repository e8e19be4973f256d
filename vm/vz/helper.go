//go:build !windows

package vz

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/pidfile"
	"github.com/berth-dev/berth/internal/proc"
	"github.com/berth-dev/berth/internal/sockets"
)

// stopWait bounds how long the VM may take to end after Stop.
const stopWait = 10 * time.Second

// helper is one running helper: its VM and every file the VM uses.
type helper struct {
	dir  string
	log  *slog.Logger
	spec Spec
	hv   hypervisor

	// Kept referenced until the VM is done: vz does not dup them.
	vmNet, console *os.File
	relay          *relay
	control        net.Listener

	mu       sync.Mutex
	stopping bool
	stopOnce sync.Once
	// stuck is closed when the VM did not end after Stop: the helper
	// returns, and its process's exit ends the VM.
	stuck     chan struct{}
	stuckOnce sync.Once
}

func runHelper(ctx context.Context, o HelperOptions, newHV func(Spec, hypervisorFiles) (hypervisor, error)) (err error) {
	if newHV == nil {
		return errNoVZ
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	spec, err := readSpec(filepath.Join(o.StateDir, specFile))
	if err != nil {
		return err
	}
	pf, err := pidfile.Acquire(filepath.Join(o.StateDir, pidFile))
	if err != nil {
		return fmt.Errorf("the vz helper: %w", err)
	}
	defer func() {
		if rerr := pf.Release(); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	h := &helper{dir: o.StateDir, log: log, spec: spec, stuck: make(chan struct{})}
	defer h.close()
	if err := h.open(); err != nil {
		return err
	}
	h.hv, err = newHV(spec, hypervisorFiles{Net: h.vmNet, Console: h.console})
	if err != nil {
		return fmt.Errorf("creating the VM: %w", err)
	}
	if err := h.hv.Start(ctx); err != nil {
		return fmt.Errorf("starting the VM: %w", err)
	}
	log.Info("VM started", "pid", os.Getpid(), "cpus", spec.CPUs, "memoryMiB", spec.MemoryMiB, "mtu", spec.MTU)
	if err := h.writeRecord(); err != nil {
		h.kill()
		return errors.Join(err, h.wait(nil))
	}
	var wg sync.WaitGroup
	wg.Go(h.relay.run)
	wg.Go(h.serve)
	err = h.wait(ctx.Done())
	log.Info("VM done", "err", err)
	h.close() // ends the relay and the control loop
	wg.Wait()
	return err
}

// wait returns when the VM is done, or with an error when it would not
// stop; a signal (sig closed) runs the stop sequence first.
func (h *helper) wait(sig <-chan struct{}) error {
	for {
		select {
		case <-h.hv.Done():
			return h.hv.Err()
		case <-h.stuck:
			return fmt.Errorf("the VM did not stop within %s of being ended; exiting ends it", stopWait)
		case <-sig:
			h.log.Info("stopping on a signal")
			h.stop(defaultGrace)
			sig = nil
		}
	}
}

// open creates the VM's files: the console log, the card's socket pair,
// the agent's side of the relay, the control socket.
func (h *helper) open() error {
	var err error
	h.console, err = os.OpenFile(h.spec.ConsoleLog, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("the guest console log: %w", err)
	}
	vmEnd, relayEnd, err := sockets.DatagramPair()
	if err != nil {
		return fmt.Errorf("the VM's network card: %w", err)
	}
	h.vmNet = vmEnd
	fc, err := net.FileConn(relayEnd) // a dup: relayEnd's own descriptor goes
	relayEnd.Close()
	if err != nil {
		return fmt.Errorf("the VM's network card: %w", err)
	}
	agentSide, err := sockets.ListenDatagram(h.spec.NetSocket)
	if err != nil {
		fc.Close()
		return fmt.Errorf("the network socket: %w", err)
	}
	h.relay = newRelay(fc.(*net.UnixConn), agentSide, h.log)
	h.control, err = sockets.Listen(filepath.Join(h.dir, controlSock))
	if err != nil {
		return fmt.Errorf("the control socket: %w", err)
	}
	return nil
}

// close releases everything open removes, once the VM is done (or never
// started); each step is safe to repeat.
func (h *helper) close() {
	if h.control != nil {
		_ = h.control.Close() // removes its socket file
	}
	if h.relay != nil {
		h.relay.close()
		if err := os.Remove(h.spec.NetSocket); err != nil && !errors.Is(err, fs.ErrNotExist) {
			h.log.Warn("removing the network socket", "err", err)
		}
	}
	_ = os.Remove(filepath.Join(h.dir, recordFile))
	if h.vmNet != nil {
		_ = h.vmNet.Close()
	}
	if h.console != nil {
		_ = h.console.Close()
	}
}

// serve answers the control socket until it is closed.
func (h *helper) serve() {
	for {
		c, err := h.control.Accept()
		if err != nil {
			return
		}
		h.answer(c)
	}
}

func (h *helper) answer(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(controlTimeout))
	var resp response
	req, err := readRequest(c)
	switch {
	case err != nil:
		resp.Error = err.Error()
		h.log.Warn("control: refused a request", "err", err)
	case req.Op == opStop:
		h.stop(time.Duration(req.GraceMs) * time.Millisecond)
	case req.Op == opKill:
		h.kill()
	}
	if resp.Error == "" {
		resp.State, resp.PID = h.state(), os.Getpid()
	}
	b, _ := json.Marshal(resp)
	_, _ = c.Write(append(b, '\n'))
}

// state is the VM's, stopping once a stop or kill was asked for.
func (h *helper) state() State {
	s := h.hv.State()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopping && (s == StateRunning || s == StateStarting) {
		return StateStopping
	}
	return s
}

// stop asks the guest to power off and ends the VM if it still runs when
// grace is over: the framework's stop request never reaches an arm64 guest
// without a GPIO power key, so it is never relied on alone. The agent asks
// the guest agent to power off before it calls the driver's Stop, so a
// guest that listens is usually gone already. Only the first stop counts.
func (h *helper) stop(grace time.Duration) {
	h.mu.Lock()
	h.stopping = true
	h.mu.Unlock()
	h.stopOnce.Do(func() {
		h.log.Info("stopping: asking the guest to power off", "grace", grace.String())
		if err := h.hv.RequestStop(); err != nil {
			h.log.Info("the guest's stop request failed", "err", err)
		}
		go func() {
			t := time.NewTimer(grace)
			defer t.Stop()
			select {
			case <-h.hv.Done():
				return
			case <-t.C:
			}
			h.log.Warn("the guest did not power off in time; stopping the VM", "grace", grace.String())
			h.kill()
		}()
	})
}

// kill ends the VM now; if the framework does not end it, the helper
// gives up on it (stuck), and the process's exit ends it for sure.
func (h *helper) kill() {
	h.mu.Lock()
	h.stopping = true
	h.mu.Unlock()
	if err := h.hv.Stop(); err != nil {
		h.log.Warn("stopping the VM", "err", err)
	}
	go func() {
		select {
		case <-h.hv.Done():
		case <-time.After(stopWait):
			h.stuckOnce.Do(func() { close(h.stuck) })
		}
	}()
}

func (h *helper) writeRecord() error {
	id, err := proc.Identity(os.Getpid())
	if err != nil {
		h.log.Info("no process identity for the record", "err", err)
	}
	b, _ := json.Marshal(record{PID: os.Getpid(), Identity: id, MAC: h.spec.MAC})
	if err := atomicfile.WriteFile(filepath.Join(h.dir, recordFile), b, 0o600); err != nil {
		return fmt.Errorf("recording the running VM: %w", err)
	}
	return nil
}

// readRequest reads and checks one request.
func readRequest(c net.Conn) (request, error) {
	line, err := bufio.NewReader(io.LimitReader(c, maxRequest)).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return request{}, fmt.Errorf("reading the request: %w", err)
	}
	var req request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return request{}, fmt.Errorf("malformed request: %w", err)
	}
	switch req.Op {
	case opState, opKill:
	case opStop:
		if req.GraceMs < 0 {
			return request{}, fmt.Errorf("stop: graceMs %d is negative", req.GraceMs)
		}
	default:
		return request{}, fmt.Errorf("op %q: want %q, %q or %q", req.Op, opState, opStop, opKill)
	}
	return req, nil
}

// readSpec reads and checks the Spec the driver wrote for the helper.
func readSpec(path string) (Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("the VM's spec: %w", err)
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return Spec{}, fmt.Errorf("the VM's spec %s: %w", path, err)
	}
	errs := []error{checkSpec(s)}
	if s.NetSocket == "" {
		errs = append(errs, errors.New("netSocket: must be set"))
	}
	if s.CPUs < 1 || s.MemoryMiB < 256 {
		errs = append(errs, fmt.Errorf("cpus, memoryMiB: %d, %d; want at least 1 and 256", s.CPUs, s.MemoryMiB))
	}
	if err := errors.Join(errs...); err != nil {
		return Spec{}, fmt.Errorf("the VM's spec %s: %w", path, err)
	}
	return s, nil
}
