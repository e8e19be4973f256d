package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/hostagent/lifecycle"
)

// contextName is the docker context Berth maintains.
const contextName = lifecycle.ContextName

type startFlags struct {
	accel   string
	driver  string
	verbose bool
}

func newStart(g *globals) *cobra.Command {
	f := &startFlags{}
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Start the machine (creating it on first use) and wait for the engine",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runStart(cmd, g, f) },
	}
	cmd.Flags().StringVar(&f.accel, "accel", os.Getenv("BERTH_ACCEL"), "accelerator: kvm, hvf, whpx or tcg (default: the best that works)")
	cmd.Flags().StringVar(&f.driver, "driver", "", "VM driver (default: the best for this OS)")
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "say where the start's time went: the agent's stages and the guest's boot")
	return cmd
}

func runStart(cmd *cobra.Command, g *globals, f *startFlags) error {
	m, err := openMachine(g)
	if err != nil {
		return err
	}
	img, err := imageDir(m)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	cfg, err := configPath()
	if err != nil {
		return err
	}
	progress, done := newProgress(out)
	res, err := lifecycle.Up(cmd.Context(), lifecycle.UpOptions{
		StartOptions: lifecycle.StartOptions{Machine: m, Exe: exe, ImageDir: img, Accel: f.accel, Driver: f.driver, Progress: progress},
		ConfigPath:   cfg, Warnings: cmd.ErrOrStderr(),
	})
	done()
	if err != nil {
		return err
	}
	if res.AlreadyRunning {
		fmt.Fprintf(out, "Machine %q is already running.\n", m.Name)
	}
	if f.verbose {
		for i, l := range timelineLines(res.Status.Timeline) {
			if i == 0 {
				l = "Started in " + l
			}
			fmt.Fprintln(out, l)
		}
	}
	fmt.Fprintf(out, "\nThe docker CLI reaches the engine with either of:\n  docker context use %s\n  export DOCKER_HOST=%s\n", contextName, m.DockerHost())
	if hint := dockerCLIHint(exec.LookPath, runtime.GOOS); hint != "" {
		fmt.Fprintf(out, "%s\n", hint)
	}
	return nil
}

// dockerCLIHint says how to get a docker CLI when lookPath finds none, and
// is empty when there is one.
func dockerCLIHint(lookPath func(string) (string, error), goos string) string {
	if _, err := lookPath("docker"); err == nil {
		return ""
	}
	how := "Debian/Ubuntu: sudo apt-get install docker.io, or docker-cli where the release has it"
	switch goos {
	case "darwin":
		how = "brew install docker"
	case "windows":
		how = "winget install Docker.DockerCLI"
	}
	return fmt.Sprintf("No docker CLI is on PATH: the engine runs, but to use it install one (%s).", how)
}
