package main

import (
	"github.com/berth-dev/berth/hostagent/lifecycle"

	"github.com/spf13/cobra"
)

func newRestart(g *globals) *cobra.Command {
	sf := &startFlags{}
	cmd := &cobra.Command{
		Use:   "restart",
		Short: "Stop and start the machine, applying config changes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			cfg, err := configPath()
			if err != nil {
				return err
			}
			if err := lifecycle.CheckConfig(m, cfg, cmd.ErrOrStderr()); err != nil {
				return err // a bad config never stops a running machine
			}
			// A fresh engine: the running VM is shut down, not saved.
			stop := newStop(g)
			if err := stop.Flags().Set("no-save", "true"); err != nil {
				return err
			}
			if err := stop.RunE(cmd, args); err != nil {
				return err
			}
			return runStart(cmd, g, sf)
		},
	}
	cmd.Flags().StringVar(&sf.accel, "accel", "", "accelerator: kvm, hvf, whpx or tcg (default: the config's, else the best that works)")
	return cmd
}
