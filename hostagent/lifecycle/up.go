package lifecycle

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/hostagent"
	"github.com/berth-dev/berth/internal/dockercontext"
	"github.com/berth-dev/berth/store"
)

// ContextName is the docker context Berth keeps pointed at the machine.
const ContextName = "berth"

// UpOptions configure Up: a Start, and the config and context around it.
type UpOptions struct {
	StartOptions
	// ConfigPath is the user's config.yaml; the commented default is
	// written there on first use.
	ConfigPath string
	// Warnings receives the config's warnings (unknown keys) and a docker
	// context that could not be updated.
	Warnings io.Writer
}

// Up is "start the machine" for every front end (the CLI's `berth start`,
// the tray's Start): it writes the default config on first use, refuses an
// invalid one before anything runs (every problem, and a disk that would
// shrink), points the docker context at the machine, then starts it.
func Up(ctx context.Context, o UpOptions) (*StartResult, error) {
	if o.Warnings == nil {
		o.Warnings = io.Discard
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if err := CheckConfig(o.Machine, o.ConfigPath, o.Warnings); err != nil {
		return nil, err
	}
	// The context first: followers see "running" from the agent's events,
	// which may come before Start returns, and a docker command run at that
	// moment must find the context.
	if err := ensureContext(o.Machine.DockerHost()); err != nil {
		fmt.Fprintf(o.Warnings, "warning: docker context %q not updated: %v\n", ContextName, err)
	}
	return Start(ctx, o.StartOptions)
}

func ensureContext(host string) error {
	dir, err := dockercontext.Dir()
	if err != nil {
		return err
	}
	if err := dockercontext.Ensure(dir, ContextName, host, "Berth"); err != nil {
		return err
	}
	return ensureEngineContexts(runtime.GOOS, dir, host)
}

// CheckConfig writes the default config on first use and refuses an
// invalid one, naming every problem, one whose disk would shrink the
// machine's, or one naming another arch than the machine's; warnings go to
// w. `berth restart` runs it before it stops anything: a bad config never
// stops a running machine.
func CheckConfig(m store.Machine, path string, w io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := config.WriteDefault(path); err != nil {
		return err
	}
	warnings, err := hostagent.ValidateConfig(m, path)
	for _, s := range warnings {
		fmt.Fprintf(w, "warning: %s: %s\n", path, s)
	}
	return err
}

// ImageArch is the architecture of the guest image machine m boots: the
// one the machine was created with, else the config's arch (the file at
// configPath), else the host's. A config that does not parse counts as
// unset: CheckConfig, or the agent, says what is wrong with it.
func ImageArch(m store.Machine, configPath string) string {
	arch := ""
	if c, _, err := config.Load(configPath); err == nil && c.Arch != nil {
		arch = *c.Arch
	}
	return hostagent.MachineArch(m, arch)
}
