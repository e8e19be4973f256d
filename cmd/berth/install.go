package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/installer/install"
	"github.com/berth-dev/berth/installer/layout"
)

// installEnv describes this berth and this user for install.Plan.
func installEnv() (install.Env, error) {
	exe, err := os.Executable()
	if err != nil {
		return install.Env{}, fmt.Errorf("locating the berth binary: %w", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return install.Env{}, err
	}
	dir := filepath.Dir(exe)
	_, trayErr := os.Stat(filepath.Join(dir, layout.Exe(runtime.GOOS, "berth-tray")))
	return install.Env{
		GOOS: runtime.GOOS, Home: home, ExeDir: dir, HasTray: trayErr == nil,
		PathDirs: filepath.SplitList(os.Getenv("PATH")),
		Writable: func(d string) bool {
			f, err := os.CreateTemp(d, ".berth-install-")
			if err != nil {
				return false
			}
			_ = f.Close()
			_ = os.Remove(f.Name())
			return true
		},
	}, nil
}

func newInstall() *cobra.Command {
	var o install.Options
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Start the tray at login and put berth on your PATH (for a berth not installed by a package)",
		Long: "Registers the tray (berth-tray, next to berth) to start at login and makes berth reachable on PATH:\n" +
			"a link in ~/.local/bin (macOS: /usr/local/bin when writable), or on Windows an entry in your PATH.\n" +
			"The docker context is made by the first `berth start`. `berth uninstall` undoes this.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := installEnv()
			if err != nil {
				return err
			}
			steps, err := install.Plan(env, o)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !env.HasTray && !o.NoAutostart {
				fmt.Fprintf(out, "no %s next to berth: the tray is not set to start at login\n", layout.Exe(runtime.GOOS, "berth-tray"))
			}
			if len(steps) == 0 {
				fmt.Fprintln(out, "nothing to do")
			}
			return install.Apply(steps, func(s string) { fmt.Fprintln(out, s) })
		},
	}
	cmd.Flags().BoolVar(&o.NoAutostart, "no-autostart", false, "do not start the tray at login")
	cmd.Flags().BoolVar(&o.NoPath, "no-path", false, "do not put berth on PATH")
	return cmd
}

func newUninstall() *cobra.Command {
	return &cobra.Command{
		Use:   "uninstall",
		Short: "Undo `berth install`: the tray's login item and berth's PATH link or entry",
		Long: "Removes what `berth install` added. Machines and their data stay: `berth delete` removes a machine.\n" +
			"A berth installed by a package (.deb, MSI, Berth.app) is removed with it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := installEnv()
			if err != nil {
				return err
			}
			steps, err := install.UninstallPlan(env)
			if err != nil {
				return err
			}
			n := 0
			err = install.Undo(steps, func(s string) { n++; fmt.Fprintln(cmd.OutOrStdout(), s) })
			if n == 0 && err == nil {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing to remove")
			}
			return err
		},
	}
}
