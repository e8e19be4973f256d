package initd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/guest/agentapi"
)

var (
	_ agentapi.Executor    = (*Init)(nil)
	_ agentapi.ClockSetter = (*Init)(nil)
	_ agentapi.LogSource   = (*Init)(nil)
)

// Exec runs a command for the host (`berth shell`), on a pty when asked,
// through the reaper like every child of PID 1.
func (in *Init) Exec(ctx context.Context, req agentapi.ExecRequest, fin io.Reader, fout io.Writer) (int, error) {
	argv := req.Cmd
	if len(argv) == 0 {
		argv = []string{"sh", "-l"}
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		// The VM's tools are busybox applets without their links.
		bb, bbErr := exec.LookPath("busybox")
		if bbErr != nil || strings.Contains(argv[0], "/") {
			return 127, fmt.Errorf("%s: command not found", argv[0])
		}
		path, argv = bb, append([]string{"busybox"}, argv...)
	}
	term := req.Term
	if term == "" {
		term = "xterm"
	}
	env := []string{"PATH=" + systemPath, "HOME=/root", "LANG=C.UTF-8", "TERM=" + term}

	var stdin io.WriteCloser // what frames from the host feed
	var output io.Reader     // what goes back as output frames
	var resize func(rows, cols uint16)
	var childFiles []*os.File
	sys := &syscall.SysProcAttr{Setsid: true}
	if req.TTY {
		master, slave, err := pty.Open()
		if err != nil {
			return 0, fmt.Errorf("opening a pty: %w", err)
		}
		defer master.Close()
		defer slave.Close()
		if req.Rows > 0 && req.Cols > 0 {
			_ = pty.Setsize(master, &pty.Winsize{Rows: req.Rows, Cols: req.Cols})
		}
		childFiles = []*os.File{slave, slave, slave}
		sys.Setctty, sys.Ctty = true, 0
		stdin, output = master, master
		resize = func(rows, cols uint16) { _ = pty.Setsize(master, &pty.Winsize{Rows: rows, Cols: cols}) }
	} else {
		inR, inW, err := os.Pipe()
		if err != nil {
			return 0, err
		}
		outR, outW, err := os.Pipe()
		if err != nil {
			inR.Close()
			inW.Close()
			return 0, err
		}
		defer inR.Close()
		defer outR.Close()
		defer outW.Close()
		childFiles = []*os.File{inR, outW, outW}
		stdin, output = inW, outR
		resize = func(uint16, uint16) {}
	}

	var proc *os.Process
	_, exited, err := in.reaper.Start(func() (int, error) {
		p, err := os.StartProcess(path, argv, &os.ProcAttr{Dir: "/root", Env: env, Files: childFiles, Sys: sys})
		if err != nil {
			return 0, err
		}
		proc = p
		return p.Pid, nil
	})
	if err != nil {
		stdin.Close()
		return 127, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	// The parent's copies of the child's ends go now, so EOF and EIO arrive.
	if !req.TTY {
		childFiles[0].Close()
		childFiles[1].Close()
	}

	var wmu sync.Mutex
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 32<<10)
		for {
			n, err := output.Read(buf)
			if n > 0 {
				wmu.Lock()
				werr := agentapi.WriteFrame(fout, agentapi.FrameOutput, buf[:n])
				wmu.Unlock()
				if werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		for {
			typ, p, err := agentapi.ReadFrame(fin)
			if err != nil {
				// The host went away: end the command.
				_ = proc.Signal(syscall.SIGHUP)
				return
			}
			switch typ {
			case agentapi.FrameStdin:
				_, _ = stdin.Write(p)
			case agentapi.FrameStdinEOF:
				if req.TTY {
					_, _ = stdin.Write([]byte{4}) // ^D
				} else {
					stdin.Close()
				}
			case agentapi.FrameResize:
				if len(p) == 4 {
					resize(binary.BigEndian.Uint16(p[:2]), binary.BigEndian.Uint16(p[2:]))
				}
			}
		}
	}()

	var ex Exit
	select {
	case ex = <-exited:
	case <-ctx.Done():
		_ = proc.Signal(syscall.SIGKILL)
		ex = <-exited
	}
	if req.TTY {
		// The pty's output ends with EIO once the last holder of the
		// slave is gone; a background job may keep it open.
		select {
		case <-copied:
		case <-time.After(300 * time.Millisecond):
		}
	} else {
		select {
		case <-copied:
		case <-time.After(2 * time.Second):
		}
	}
	wmu.Lock()
	defer wmu.Unlock()
	return exitCode(ex), nil
}

func exitCode(e Exit) int {
	if e.Signal != "" {
		if s := unix.SignalNum(e.Signal); s != 0 {
			return 128 + int(s)
		}
		return 255
	}
	return e.Code
}

// SetClock steps the guest's clock to the host's.
func (in *Init) SetClock(t time.Time) error {
	tv := unix.NsecToTimeval(t.UnixNano())
	if err := unix.Settimeofday(&tv); err != nil {
		return fmt.Errorf("setting the clock: %w", err)
	}
	in.logf("clock set from the host: %s", t.UTC().Format(time.RFC3339Nano))
	return nil
}

// Log opens a daemon's log in /run/berth.
func (in *Init) Log(name string) (io.ReadCloser, error) {
	switch name {
	case "dockerd", "containerd":
	default:
		return nil, fmt.Errorf("log %q: %w (logs: dockerd, containerd)", name, os.ErrNotExist)
	}
	f, err := os.Open(filepath.Join(runDir, name+".log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s has not written a log yet: %w", name, err)
	}
	return f, err
}
