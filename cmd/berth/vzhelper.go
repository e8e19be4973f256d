package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/vm/vz"
)

// newVZHelper is the process that owns a Virtualization.framework VM;
// the vz driver starts it detached, so the VM outlives the agent.
func newVZHelper() *cobra.Command {
	o := vz.HelperOptions{}
	cmd := &cobra.Command{
		Use:    vz.HelperCommand,
		Short:  "Run a machine's Virtualization.framework VM (started by the vz driver)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("component", "vz-helper")
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return vz.RunHelper(ctx, o)
		},
	}
	cmd.Flags().StringVar(&o.StateDir, "state-dir", "", "the machine directory holding the VM's spec")
	_ = cmd.MarkFlagRequired("state-dir")
	return cmd
}
