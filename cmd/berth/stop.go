package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/hostagent/lifecycle"
)

func newStop(g *globals) *cobra.Command {
	var timeout time.Duration
	var noSave bool
	cmd := &cobra.Command{
		Use:   "stop",
		Short: "Stop the engine and the VM (gracefully, forced after --timeout)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if timeout <= 0 {
				return fmt.Errorf("--timeout: must be positive, got %s", timeout)
			}
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			img, _ := imageDir(m)
			out := cmd.OutOrStdout()
			res, err := lifecycle.Stop(cmd.Context(), lifecycle.StopOptions{Machine: m, ImageDir: img, Timeout: timeout, Progress: out, NoSave: noSave})
			if res != nil {
				for _, f := range res.Findings {
					fmt.Fprintln(out, "found:", f)
				}
			}
			if err != nil {
				return err
			}
			if !res.WasRunning {
				fmt.Fprintf(out, "Machine %q is not running.\n", m.Name)
				return nil
			}
			fmt.Fprintf(out, "Machine %q stopped.\n", m.Name)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Minute, "how long a graceful stop may take before it is forced")
	cmd.Flags().BoolVar(&noSave, "no-save", false, "shut the VM down instead of saving it for a fast next start (fastStart)")
	return cmd
}
