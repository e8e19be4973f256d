// Command berth-tray is Berth's tray app: an icon that shows whether the
// engine is up and a menu that does the common things in one click. It is
// the macOS app bundle's main program and, on Windows, a GUI-subsystem
// program (`make berth-tray-windows` links it with -H=windowsgui; the
// tray's message loop ends on WM_QUIT). The work is in package tray; the
// drawing in tray/native.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/hostagent/lifecycle"
	"github.com/berth-dev/berth/installer/layout"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/tray"
	"github.com/berth-dev/berth/tray/native"
)

// version is set at link time for releases.
var version = "dev"

// The macOS status bar must be driven from the main thread.
func init() { runtime.LockOSThread() }

func main() {
	if err := run(); err != nil {
		if errors.Is(err, tray.ErrAlreadyRunning) {
			fmt.Fprintln(os.Stderr, "berth-tray:", err)
			return
		}
		fmt.Fprintln(os.Stderr, "berth-tray:", err)
		os.Exit(1)
	}
}

func run() error {
	machine := flag.String("machine", store.DefaultMachine, "machine name")
	flag.Parse()
	if !native.Available {
		return native.ErrNoCgo
	}
	home, err := store.Home()
	if err != nil {
		return err
	}
	m, err := store.Open(home, *machine)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	log, closeLog := openLog(filepath.Join(home, store.TrayLogFile))
	defer closeLog()
	berth, err := findBerth()
	if err != nil {
		return err
	}
	desk := tray.NewDesktop(log)
	app := tray.New(tray.Options{
		GOOS: runtime.GOOS, Home: home, Machine: m.Name, BerthExe: berth, Version: version,
		Agent:  &tray.LocalAgent{Machine: m, BerthExe: berth, ImageDir: imageDir(berth, m, filepath.Join(home, config.FileName))},
		Engine: &tray.DockerEngine{Machine: m}, Engines: engines(runtime.GOOS, m),
		Opener: desk, Clipboard: desk, Notifier: desk, Dialogs: desk, Runner: desk, Log: log,
	})
	release, err := tray.ClaimInstance(runtime.GOOS, home, app.Show)
	if err != nil {
		return err
	}
	defer release()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quit := func() { cancel(); native.Quit() }
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
			quit()
		case <-ctx.Done():
		}
	}()
	if offersSetup(runtime.GOOS, berth) {
		go offerSetup(ctx, home, berth, desk, log)
	}
	tr := native.New(runtime.GOOS, app.Do)
	done := make(chan struct{})
	go func() { app.Run(ctx, tr, quit); close(done) }()
	tr.Run(nil) // until Quit (or WM_QUIT on Windows)
	cancel()
	<-done
	return nil
}

func openLog(path string) (*slog.Logger, func()) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil)), func() {}
	}
	return slog.New(slog.NewJSONHandler(f, nil)), func() { f.Close() }
}

// findBerth finds the berth CLI: next to this program (an install puts
// them together), else on PATH.
func findBerth() (string, error) {
	name := "berth"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		p := filepath.Join(filepath.Dir(exe), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("the berth CLI is neither next to berth-tray nor on PATH: %w", err)
	}
	return filepath.Abs(p)
}

// imageDir is where the CLI finds machine m's guest image: $BERTH_IMAGE_DIR,
// else <bin>/../share/berth/image/<the machine's arch> or Berth.app's
// Resources (layout.ImageDirs).
func imageDir(berth string, m store.Machine, configPath string) string {
	if d := os.Getenv("BERTH_IMAGE_DIR"); d != "" {
		if a, err := filepath.Abs(d); err == nil {
			return a
		}
		return d
	}
	return layout.FindImageDir(filepath.Dir(berth), lifecycle.ImageArch(m, configPath))
}

// engines is the tray's switch between the Linux and the Windows engine,
// on Windows only.
func engines(goos string, m store.Machine) tray.Engines {
	if goos != "windows" {
		return nil
	}
	return &tray.LocalEngines{Machine: m}
}
