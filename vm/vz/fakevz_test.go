//go:build !windows

package vz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"

	"github.com/berth-dev/berth/vm"
)

// fakeVZ is a fake standing in for Virtualization.framework: a VM that
// "boots" by printing the boot marker on its console, and powers off when
// asked, or, like an arm64 guest without a GPIO power key, ignores the
// framework's stop request. Its network card is the Net file: a test reads
// and writes the guest's frames on it.
type fakeVZ struct {
	files      hypervisorFiles
	honourStop bool

	mu       sync.Mutex
	state    State
	requests int // RequestStop calls
	stops    int // Stop calls
	done     chan struct{}
	once     sync.Once
}

const fakeMarker = "fake guest: init started"

func newFakeVZ(files hypervisorFiles, honourStop bool) *fakeVZ {
	return &fakeVZ{files: files, honourStop: honourStop, state: StateStarting, done: make(chan struct{})}
}

func (f *fakeVZ) Start(context.Context) error {
	if _, err := fmt.Fprintf(f.files.Console, "[0.1] booting\n%s\n", fakeMarker); err != nil {
		return err
	}
	f.mu.Lock()
	f.state = StateRunning
	f.mu.Unlock()
	return nil
}

func (f *fakeVZ) RequestStop() error {
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()
	if f.honourStop {
		go f.finish()
	}
	return nil
}

func (f *fakeVZ) Stop() error {
	f.mu.Lock()
	f.stops++
	f.mu.Unlock()
	f.finish()
	return nil
}

func (f *fakeVZ) finish() {
	f.once.Do(func() {
		f.mu.Lock()
		f.state = StateStopped
		f.mu.Unlock()
		close(f.done)
	})
}

func (f *fakeVZ) State() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *fakeVZ) Done() <-chan struct{} { return f.done }
func (f *fakeVZ) Err() error            { return nil }

func (f *fakeVZ) counts() (requests, stops int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, f.stops
}

// envFakeHelper makes the test binary a helper process with a fakeVZ:
// "honour" or "ignore" its stop request, or "none": no hypervisor in this
// build, as on Linux.
const envFakeHelper = "BERTH_TEST_VZ_HELPER"

// TestMain runs the test binary as a helper process when the driver
// under test starts it (its helper command is this binary).
func TestMain(m *testing.M) {
	if mode := os.Getenv(envFakeHelper); mode != "" {
		os.Exit(fakeHelperMain(mode, os.Args[1:]))
	}
	if machine := os.Getenv(envFakeAgent); machine != "" {
		os.Exit(fakeAgentMain(machine))
	}
	os.Exit(m.Run())
}

// envFakeAgent makes the test binary an agent that starts the machine
// (JSON in the variable) with the vz driver, prints the helper's pid and
// exits, as an agent that crashes after the boot.
const envFakeAgent = "BERTH_TEST_VZ_AGENT"

func fakeAgentMain(machine string) int {
	var m vm.Machine
	if err := json.Unmarshal([]byte(machine), &m); err != nil {
		fmt.Fprintln(os.Stderr, "fake agent:", err)
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake agent:", err)
		return 2
	}
	// The helper inherits the environment: it is a helper, not an agent.
	os.Unsetenv(envFakeAgent)
	os.Setenv(envFakeHelper, "honour")
	d := newDriver(&m, []string{exe}, testMac)
	if err := d.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "fake agent:", err)
		return 1
	}
	fmt.Println(d.Info().PID)
	return 0
}

func fakeHelperMain(mode string, args []string) int {
	if len(args) != 2 || args[0] != "--state-dir" {
		fmt.Fprintf(os.Stderr, "fake vz-helper: want --state-dir DIR, got %q\n", args)
		return 2
	}
	newHV := func(_ Spec, files hypervisorFiles) (hypervisor, error) {
		return newFakeVZ(files, mode == "honour"), nil
	}
	switch mode {
	case "none":
		newHV = nil
	case "honour", "ignore":
	default:
		fmt.Fprintf(os.Stderr, "fake vz-helper: unknown mode %q\n", mode)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := runHelper(ctx, HelperOptions{StateDir: args[1], Log: log}, newHV); err != nil {
		fmt.Fprintln(os.Stderr, "vz-helper:", err)
		if errors.Is(err, errNoVZ) {
			return 3
		}
		return 1
	}
	return 0
}
