package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/tray"
)

func newDashboard(g *globals) *cobra.Command {
	var noOpen bool
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Print the address of the machine's web page (containers, logs, ports) and open it in the browser",
		Long: "Prints the address of the dashboard the host agent serves on 127.0.0.1, with this start's\n" +
			"token (keep it to yourself: it opens the page), and opens it in the default browser\n" +
			"unless --no-open.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			url, err := api.NewClient(m.AgentSocket()).Dashboard(cmd.Context())
			if err != nil {
				return fmt.Errorf("machine %q: %w (is it running? `berth start`)", m.Name, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), url)
			if noOpen {
				return nil
			}
			if err := tray.NewDesktop(nil).OpenURL(url); err != nil {
				return fmt.Errorf("opening the browser (the address is above): %w", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noOpen, "no-open", false, "only print the address")
	return cmd
}
