package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/hostagent/api"
)

// newDebug holds tools for measuring and diagnosing; hidden from help.
func newDebug(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "debug", Short: "Diagnostic tools", Hidden: true}
	var n int
	var path string
	rtt := &cobra.Command{
		Use:   "engine-rtt",
		Short: "Time docker API calls from the agent to the guest, bypassing the socket bridge (JSON, nanoseconds)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 1 || n > 10000 {
				return fmt.Errorf("-n: a count from 1 to 10000, got %d", n)
			}
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			r, err := api.NewClient(m.AgentSocket()).EngineRTT(cmd.Context(), n, path)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(r)
		},
	}
	rtt.Flags().IntVarP(&n, "count", "n", 50, "number of calls")
	rtt.Flags().StringVar(&path, "path", "/version", "the API call: /version or /_ping")
	cmd.AddCommand(rtt)
	return cmd
}
