package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/hostagent"
	"github.com/berth-dev/berth/hostagent/lifecycle"
	"github.com/berth-dev/berth/internal/dockercontext"
)

func newDelete(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete the machine and all its data (images, containers, volumes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			if _, err := os.Stat(m.Dir); errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("machine %q does not exist", m.Name)
			}
			out := cmd.OutOrStdout()
			if !force {
				if !isTerminal(os.Stdin) {
					return errors.New("refusing to delete without a terminal to ask on: use --force")
				}
				fmt.Fprintf(out, "Delete machine %q with all its images, containers and volumes? [y/N] ", m.Name)
				answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.TrimSpace(strings.ToLower(answer)); a != "y" && a != "yes" {
					return errors.New("not deleted")
				}
			}
			img, _ := imageDir(m)
			// The machine goes: nothing to save for a next start.
			res, err := lifecycle.Stop(cmd.Context(), lifecycle.StopOptions{Machine: m, ImageDir: img, Progress: out, NoSave: true})
			if err != nil {
				return fmt.Errorf("stopping the machine before deleting it: %w", err)
			}
			if res.WasRunning {
				fmt.Fprintln(out, "Machine stopped.")
			}
			// A driver's VM kept outside the machine directory (a WSL
			// distro's registration) goes first: the directory holds
			// what it needs to find it.
			// One that cannot be removed does not keep the user's delete
			// from happening: they are told what is left.
			if err := hostagent.RemoveVM(cmd.Context(), hostagent.Options{Machine: m, ImageDir: img}); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v; what the driver keeps outside %s is left (a WSL distro: wsl --unregister berth-%s)\n", err, m.Dir, m.Name)
			}
			if err := os.RemoveAll(m.Dir); err != nil {
				return fmt.Errorf("deleting %s: %w", m.Dir, err)
			}
			if prev, err := restoreContext(); err == nil {
				if dir, err := dockercontext.Dir(); err == nil {
					_ = dockercontext.Remove(dir, contextName)
				}
				fmt.Fprintf(out, "docker uses the context %q.\n", orDefault(prev))
			}
			fmt.Fprintf(out, "Machine %q deleted.\n", m.Name)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not ask")
	return cmd
}
