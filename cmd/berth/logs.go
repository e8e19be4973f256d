package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/store"
)

// logFiles maps what the user asks for to the machine's files.
var logFiles = map[string]string{
	"agent":   store.AgentLogFile,  // the host agent's JSON log
	"console": store.SerialLogFile, // the guest console: kernel, init, and the engine's errors
}

func newLogs(g *globals) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:       "logs [agent|console|engine|containerd]",
		Short:     "Show the host agent's log, the guest console, or the engine's (dockerd's, containerd's) log",
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"agent", "console", "engine", "containerd"},
		RunE: func(cmd *cobra.Command, args []string) error {
			which := "agent"
			if len(args) == 1 {
				which = args[0]
			}
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			if which == "engine" || which == "containerd" {
				return engineLog(cmd, m, which, follow)
			}
			file, ok := logFiles[which]
			if !ok {
				return fmt.Errorf("logs: %q is not one of agent, console, engine, containerd", which)
			}
			return tail(cmd.Context(), m.Path(file), cmd.OutOrStdout(), follow)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing as the log grows")
	return cmd
}

// tail copies a log, and with follow keeps copying what is appended; a log
// that is replaced (a new boot) is read again from its start.
func tail(ctx context.Context, path string, w io.Writer, follow bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("no log yet: %w", err)
	}
	defer func() { f.Close() }()
	for {
		if _, err := io.Copy(w, f); err != nil {
			return err
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
		if st, err := os.Stat(path); err == nil {
			if cur, err := f.Stat(); err == nil && (!os.SameFile(st, cur) || st.Size() < mustOffset(f)) {
				f.Close()
				if f, err = os.Open(path); err != nil {
					return err
				}
			}
		}
	}
}

func mustOffset(f *os.File) int64 {
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0
	}
	return off
}

// engineLog prints the engine's log from the guest; with follow it prints
// what was added every second (the guest keeps the last 8 MiB).
func engineLog(cmd *cobra.Command, m store.Machine, which string, follow bool) error {
	name := map[string]string{"engine": "dockerd", "containerd": "containerd"}[which]
	c := api.NewClient(m.AgentSocket())
	var seen int64
	for {
		rc, err := c.EngineLog(cmd.Context(), name)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if int64(len(b)) < seen { // rotated
			seen = 0
		}
		if _, err := cmd.OutOrStdout().Write(b[seen:]); err != nil {
			return err
		}
		seen = int64(len(b))
		if !follow {
			return nil
		}
		select {
		case <-cmd.Context().Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}
