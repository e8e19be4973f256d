package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// prefix is a fresh Wine prefix, private to one run.
type prefix struct {
	wine string
	dir  string
	logs string
	env  []string
}

// wineEnv keeps Wine quiet and headless and skips the Mono and Gecko
// installers a new prefix would otherwise offer.
func wineEnv(dir string) []string {
	return []string{
		"WINEPREFIX=" + dir,
		"WINEARCH=win64",
		"WINEDEBUG=-all",
		"WINEDLLOVERRIDES=mscoree,mshtml=",
		"DISPLAY=",
	}
}

// newPrefix creates the prefix under work and installs the shim.
func newPrefix(ctx context.Context, wine, work, shimSrc string) (*prefix, error) {
	if _, err := exec.LookPath(wine); err != nil {
		return nil, fmt.Errorf("wine is not installed (see hack/deps-windows.txt; make deps-windows installs it): %w", err)
	}
	p := &prefix{wine: wine, dir: filepath.Join(work, "prefix"), logs: filepath.Join(work, "logs")}
	p.env = append(os.Environ(), wineEnv(p.dir)...)
	if err := os.MkdirAll(p.logs, 0o755); err != nil {
		return nil, err
	}
	dll := filepath.Join(work, "bcryptprimitives.dll")
	if err := buildShim(ctx, shimSrc, dll); err != nil {
		return nil, err
	}
	if _, err := p.exec(ctx, "wineboot.log", 3*time.Minute, "wineboot", "--init"); err != nil {
		return nil, fmt.Errorf("creating the Wine prefix: %w", err)
	}
	if _, err := p.exec(ctx, "wineserver-wait.log", 3*time.Minute, "wineserver", "-w"); err != nil {
		return nil, fmt.Errorf("waiting for the Wine prefix: %w", err)
	}
	sys32 := filepath.Join(p.dir, "drive_c", "windows", "system32")
	b, err := os.ReadFile(dll)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(sys32, "bcryptprimitives.dll"), b, 0o644); err != nil {
		return nil, fmt.Errorf("installing the shim: %w", err)
	}
	// One wineserver for the whole run (close kills it). Started on
	// demand, it exits a few seconds after the last Windows program ends,
	// and a test binary that starts just then dies with "wine client
	// error: recvmsg: Connection reset by peer" before running a test.
	if _, err := p.exec(ctx, "wineserver-persist.log", time.Minute, "wineserver", "-p"); err != nil {
		return nil, fmt.Errorf("starting the prefix's wineserver: %w", err)
	}
	return p, nil
}

// buildShim compiles hack/wine/processprng.c into a DLL with mingw.
func buildShim(ctx context.Context, src, dll string) error {
	cmd := exec.CommandContext(ctx, "x86_64-w64-mingw32-gcc", "-shared", "-O2", "-s", "-o", dll,
		filepath.Join(src, "processprng.c"), filepath.Join(src, "processprng.def"), "-ladvapi32")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the ProcessPrng shim (needs gcc-mingw-w64-x86-64-win32): %w\n%s", err, out)
	}
	return nil
}

// run runs a Windows program in the prefix, in directory dir, and returns
// its output. Output goes to a file, not a pipe: Wine's console handling
// with pipes can hang or lose output.
func (p *prefix) run(ctx context.Context, exe, dir string, args []string, timeout time.Duration) ([]byte, error) {
	return p.execIn(ctx, dir, filepath.Base(exe)+".log", timeout, p.wine, append([]string{exe}, args...)...)
}

func (p *prefix) exec(ctx context.Context, log string, timeout time.Duration, name string, args ...string) ([]byte, error) {
	return p.execIn(ctx, "", log, timeout, name, args...)
}

func (p *prefix) execIn(ctx context.Context, dir, log string, timeout time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	logPath := filepath.Join(p.logs, log)
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.WaitDelay = 10 * time.Second
	runErr := cmd.Run()
	if cerr := f.Close(); runErr == nil {
		runErr = cerr
	}
	out, err := os.ReadFile(logPath)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return out, fmt.Errorf("%s: timed out after %s", name, timeout)
	}
	return out, runErr
}

// close stops the prefix's wineserver and everything still running in it.
func (p *prefix) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _ = p.exec(ctx, "wineserver-kill.log", time.Minute, "wineserver", "-k")
}
