package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/hostagent/lifecycle"
)

func newStatus(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the machine's state, accelerator and docker host",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			st, err := lifecycle.Status(cmd.Context(), m)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printStatus(cmd.OutOrStdout(), st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as a JSON object")
	return cmd
}

func printStatus(w io.Writer, st *api.Status) {
	fmt.Fprintf(w, "machine:     %s\n", st.Machine)
	state := string(st.State)
	if st.Phase != "" {
		state += " (" + st.Phase + ")"
	}
	fmt.Fprintf(w, "state:       %s\n", state)
	if st.Error != "" {
		fmt.Fprintf(w, "problem:     %s\n", st.Error)
	}
	if st.Accelerator != "" {
		fmt.Fprintf(w, "driver:      %s\n", st.Driver)
		fmt.Fprintf(w, "accelerator: %s\n", st.Accelerator)
		if st.AccelNote != "" {
			fmt.Fprintf(w, "             (%s)\n", st.AccelNote)
		}
	}
	if st.CPUs > 0 {
		fmt.Fprintf(w, "resources:   %d CPUs, %d MiB\n", st.CPUs, st.MemoryMiB)
	}
	fmt.Fprintf(w, "docker host: %s\n", st.DockerHost)
}
