package main

import (
	"runtime"

	"github.com/berth-dev/berth/hostagent"
	"github.com/berth-dev/berth/vm"

	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/hostagent/diagnose"
	"github.com/berth-dev/berth/hostagent/lifecycle"
)

func newDiagnose(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "diagnose",
		Short: "Write a tar.gz for a bug report: status, versions, logs, config with secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			st, err := lifecycle.Status(cmd.Context(), m)
			if err != nil {
				st = &api.Status{Machine: m.Name, State: api.StateError, Error: err.Error()}
			}
			cfg, err := configPath()
			if err != nil {
				return err
			}
			img, _ := imageDir(m)
			if out == "" {
				out = diagnose.DefaultName(time.Now())
			}
			f, err := os.OpenFile(out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("--output: %w", err)
			}
			// The driver hands the bundle its own logs.
			driver := st.Driver
			if driver == "" {
				driver = hostagent.RecordedDriver(m)
			}
			_, caps, _ := vm.CapabilitiesOf(driver, runtime.GOOS)
			report := hostagent.DriverReport(cmd.Context(), hostagent.Options{Machine: m, ImageDir: img, Driver: driver})
			if err := diagnose.Write(f, diagnose.Options{Machine: m, ConfigPath: cfg, ImageDir: img, Status: st, Version: version, DriverLogs: caps.LogFiles, DriverReport: report}); err != nil {
				f.Close()
				os.Remove(out)
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote %s.\n", out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (default berth-diagnose-<time>.tar.gz)")
	return cmd
}
