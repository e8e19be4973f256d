package initd

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// waitAny is the WaitAnyFunc of the real system.
func waitAny() (int, Exit, bool) {
	var ws unix.WaitStatus
	for {
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return 0, Exit{}, false
		}
		switch {
		case ws.Exited():
			return pid, Exit{Code: ws.ExitStatus()}, true
		case ws.Signaled():
			return pid, Exit{Signal: unix.SignalName(ws.Signal())}, true
		}
		// stopped or continued: not an exit; keep collecting
	}
}

// osProc is a child started through the reaper.
type osProc struct {
	p    *os.Process
	log  *LineLog
	done chan struct{}
	exit Exit
}

func (o *osProc) PID() int                   { return o.p.Pid }
func (o *osProc) Done() <-chan struct{}      { return o.done }
func (o *osProc) Exit() Exit                 { return o.exit }
func (o *osProc) Signal(sig os.Signal) error { return o.p.Signal(sig) }
func (o *osProc) Tail() string               { return o.log.Tail() }

const systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// spawn starts argv with stdout and stderr going to log. It never uses
// os/exec's Wait: the reaper collects the exit.
func (in *Init) spawn(argv []string, log *LineLog, stdin *os.File) (*osProc, error) {
	return in.spawnIO(argv, log, stdin, nil)
}

// spawnIO is spawn with the standard output on stdout instead of log,
// when stdout is not nil (sshfs speaks SFTP on its standard input and
// output; its standard error goes to log).
func (in *Init) spawnIO(argv []string, log *LineLog, stdin, stdout *os.File) (*osProc, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	if stdin == nil {
		if stdin, err = os.Open(os.DevNull); err != nil {
			r.Close()
			return nil, err
		}
		defer stdin.Close()
	}
	attr := &os.ProcAttr{
		Env:   []string{"PATH=" + systemPath, "HOME=/root", "LANG=C.UTF-8"},
		Files: []*os.File{stdin, cmp.Or(stdout, w), w},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	}
	o := &osProc{log: log, done: make(chan struct{})}
	_, exited, err := in.reaper.Start(func() (int, error) {
		p, err := os.StartProcess(path, argv, attr)
		if err != nil {
			return 0, err
		}
		o.p = p
		return p.Pid, nil
	})
	if err != nil {
		r.Close()
		return nil, err
	}
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(log, r)
		r.Close()
		close(copied)
	}()
	go func() {
		o.exit = <-exited
		// Let the last lines arrive, unless a grandchild holds the pipe.
		select {
		case <-copied:
		case <-time.After(500 * time.Millisecond):
		}
		close(o.done)
	}()
	return o, nil
}

// run runs a short command to its end and returns its output; a non-zero
// exit is an error that quotes the command and the end of its output.
func (in *Init) run(ctx context.Context, argv ...string) (string, Exit, error) {
	log := NewLineLog("["+argv[0]+"] ", 40, in.debugSinks()...)
	p, err := in.spawn(argv, log, nil)
	if err != nil {
		return "", Exit{}, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		_ = p.Signal(syscall.SIGKILL)
		<-p.Done()
	}
	out := log.Tail()
	if !p.Exit().Success() {
		return out, p.Exit(), fmt.Errorf("%s: %s: %s", strings.Join(argv, " "), p.Exit(), out)
	}
	return out, p.Exit(), nil
}
