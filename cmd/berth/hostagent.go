package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/hostagent"
	"github.com/berth-dev/berth/store"
)

// newHostagent is the agent process itself; `berth start` launches it.
func newHostagent(g *globals) *cobra.Command {
	o := hostagent.Options{}
	cmd := &cobra.Command{
		Use:    "hostagent",
		Short:  "Run the host agent of a machine (started by `berth start`)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			o.Machine = m
			home, err := store.Home()
			if err != nil {
				return err
			}
			o.ConfigPath = filepath.Join(home, config.FileName)
			o.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("machine", m.Name)
			slog.SetDefault(o.Log)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return hostagent.Run(ctx, o)
		},
	}
	cmd.Flags().StringVar(&o.ImageDir, "image-dir", "", "guest image directory")
	cmd.Flags().StringVar(&o.Driver, "driver", "", "VM driver")
	cmd.Flags().StringVar(&o.Accel, "accel", "", "accelerator")
	_ = cmd.MarkFlagRequired("image-dir")
	return cmd
}
