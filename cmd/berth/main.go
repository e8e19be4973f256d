// Command berth manages Berth machines: a Linux VM running the Docker
// engine, reachable through a docker socket on the host.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	_ "github.com/berth-dev/berth/vm/qemu" // the portable driver, on every OS
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		fmt.Fprintln(os.Stderr, "berth:", err)
		return 1
	}
	return 0
}

// globals are the flags every command shares.
type globals struct {
	machine string
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "berth",
		Short:         "Run the Docker engine in a lightweight VM",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&g.machine, "machine", "m", "default", "machine name")
	root.AddCommand(newStart(g), newStop(g), newStatus(g), newHostagent(g), newDebug(g), newConfig(g), newRestart(g), newContext(g), newDelete(g), newLogs(g), newDiagnose(g), newShell(g), newVersion(), newVZHelper(), newInstall(), newUninstall())
	root.AddCommand(newPorts(g), newForward(g), newDashboard(g), newSwitch(g))
	return root
}
