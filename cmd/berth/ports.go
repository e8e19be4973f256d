package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/portfwd"
)

func newPorts(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ports",
		Short: "List the port forwards: host address, guest target, protocol, container, state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			fs, err := api.NewClient(m.AgentSocket()).Forwards(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(fs)
			}
			printForwards(cmd.OutOrStdout(), fs)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the forwards as a JSON array")
	return cmd
}

func printForwards(w io.Writer, fs []portfwd.Forward) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tGUEST\tPROTO\tSOURCE\tCONTAINER\tSTATE")
	for _, f := range fs {
		host := f.HostAddr()
		if f.HostIP == portfwd.AllAddresses {
			host = "*:" + strconv.Itoa(f.HostPort)
		}
		owner := f.Container
		if f.Source == portfwd.SourceManual {
			owner = f.Spec
		}
		if owner == "" {
			owner = "-"
		}
		state := string(f.State)
		if f.Reason != "" {
			state += ": " + f.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", host, net.JoinHostPort(f.GuestIP, strconv.Itoa(f.GuestPort)), f.Proto, f.Source, owner, state)
	}
	tw.Flush()
}

func newForward(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "forward",
		Short: "Add or remove manual port forwards (kept across restarts)",
	}
	add := &cobra.Command{
		Use:   "add [HOSTIP:]HOSTPORT[:GUESTPORT][/udp]",
		Short: "Forward a host port to a guest port (host loopback unless HOSTIP is given)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := portfwd.ParseSpec(args[0]); err != nil {
				return err
			}
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			fs, err := api.NewClient(m.AgentSocket()).AddForward(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			printForwards(cmd.OutOrStdout(), fs)
			return nil
		},
	}
	rm := &cobra.Command{
		Use:     "rm [HOSTIP:]HOSTPORT[:GUESTPORT][/udp]",
		Aliases: []string{"remove"},
		Short:   "Remove a manual forward",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sp, err := portfwd.ParseSpec(args[0])
			if err != nil {
				return err
			}
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			if err := api.NewClient(m.AgentSocket()).RemoveForward(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", sp)
			return nil
		},
	}
	cmd.AddCommand(add, rm)
	return cmd
}
