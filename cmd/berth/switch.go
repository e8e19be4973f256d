package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/hostagent/lifecycle"
	"github.com/berth-dev/berth/internal/engineswitch"
)

func newSwitch(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:       "switch linux|windows",
		Short:     "Make the Linux or the Windows containers engine docker's default (both keep running)",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{string(engineswitch.Linux), string(engineswitch.Windows)},
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := engineswitch.Parse(args[0])
			if err != nil {
				return err
			}
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			res, err := lifecycle.SwitchEngine(cmd.Context(), m, e)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), switchMessage(res))
			return nil
		},
	}
}

// switchMessage says what a switch did.
func switchMessage(res engineswitch.Result) string {
	kind := "Linux"
	if res.Engine == engineswitch.Windows {
		kind = "Windows"
	}
	pipe := `\\.\pipe\docker_engine carries it too`
	if !res.Routed {
		pipe = `\\.\pipe\docker_engine is not Berth's to re-point (the machine is stopped, or another server holds it)`
	}
	return fmt.Sprintf("docker now uses the context %s (%s containers; the other engine keeps running); %s; took %s.",
		res.Context, kind, pipe, res.Took.Round(time.Millisecond))
}
