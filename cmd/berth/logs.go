package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

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
		Use:       "logs [agent|console]",
		Short:     "Show the host agent's log or the guest console (the engine's output with BERTH_GUEST_DEBUG=1)",
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"agent", "console"},
		RunE: func(cmd *cobra.Command, args []string) error {
			which := "agent"
			if len(args) == 1 {
				which = args[0]
			}
			file, ok := logFiles[which]
			if !ok {
				return fmt.Errorf("logs: %q is not one of agent, console", which)
			}
			m, err := openMachine(g)
			if err != nil {
				return err
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
