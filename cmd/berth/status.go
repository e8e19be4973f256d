package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/hostagent/lifecycle"
	"github.com/berth-dev/berth/internal/engineswitch"
	"github.com/berth-dev/berth/portfwd"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/winservice"
)

func newStatus(g *globals) *cobra.Command {
	var asJSON, watch bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the machine's state, accelerator and docker host",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			if watch {
				return watchStatus(cmd, m, asJSON)
			}
			st, err := lifecycle.Status(cmd.Context(), m)
			if err != nil {
				return err
			}
			// The forwards, when the machine runs.
			var fwds []portfwd.Forward
			if st.State.Up() {
				fwds, _ = api.NewClient(m.AgentSocket()).Forwards(cmd.Context())
			}
			// The Windows engine, beside the machine's, on Windows.
			var win *windowsEngineJSON
			if runtime.GOOS == "windows" {
				ws, werr := engineswitch.WindowsEngine(cmd.Context())
				win = &windowsEngineJSON{EngineStatus: ws}
				if werr != nil {
					win.Error = werr.Error()
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					*api.Status
					Forwards      []portfwd.Forward  `json:"forwards"`
					WindowsEngine *windowsEngineJSON `json:"windowsEngine,omitempty"`
				}{st, nonNil(fwds), win})
			}
			printStatus(cmd.OutOrStdout(), st)
			if win != nil {
				var werr error
				if win.Error != "" {
					werr = errors.New(win.Error)
				}
				printWindowsEngine(cmd.OutOrStdout(), win.EngineStatus, werr)
			}
			if len(fwds) > 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "forwards:")
				printForwards(cmd.OutOrStdout(), fwds)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as a JSON object")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow the agent's events until the machine stops (with --json: one event per line)")
	return cmd
}

// windowsEngineJSON is the Windows engine in berth status --json.
type windowsEngineJSON struct {
	winservice.EngineStatus
	Error string `json:"error,omitempty"`
}

func printStatus(w io.Writer, st *api.Status) {
	fmt.Fprintf(w, "machine:     %s\n", st.Machine)
	state := string(st.State)
	if st.Phase != "" {
		state += " (" + st.Phase + ")"
	}
	if st.State == api.StatePaused {
		state += pausedNote(st, time.Now())
	}
	if st.Standby {
		state += " (the dashboard is open: its Start, or `berth start`, starts it)"
	}
	fmt.Fprintf(w, "state:       %s\n", state)
	if st.Error != "" {
		fmt.Fprintf(w, "problem:     %s\n", st.Error)
	}
	for _, warning := range st.Warnings {
		fmt.Fprintf(w, "warning:     %s\n", warning)
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
	if len(st.Shares) > 0 {
		how := st.FileSharing
		if how == "" {
			how = "not shared"
		}
		fmt.Fprintf(w, "shares:      %s: %s\n", how, strings.Join(st.Shares, ", "))
		if st.FileSharingNote != "" {
			fmt.Fprintf(w, "             (%s)\n", st.FileSharingNote)
		}
	}
	if st.EngineVersion != "" {
		fmt.Fprintf(w, "engine:      Docker %s\n", st.EngineVersion)
	}
	if !st.ReadyAt.IsZero() && st.State != api.StateStopped {
		fmt.Fprintf(w, "uptime:      %s (started in %.1fs)\n", time.Since(st.ReadyAt).Round(time.Second), st.ReadyAt.Sub(st.StartedAt).Seconds())
	}
	if st.State != api.StateStopped {
		for i, l := range timelineLines(st.Timeline) {
			label := "last start:"
			if i > 0 {
				label = ""
			}
			fmt.Fprintf(w, "%-12s %s\n", label, l)
		}
	}
	fmt.Fprintf(w, "docker host: %s\n", st.DockerHost)
	if st.DefaultEngine != "" {
		fmt.Fprintf(w, "default:     \\\\.\\pipe\\docker_engine carries the %s engine (berth switch linux|windows)\n", st.DefaultEngine)
	}
}

// printWindowsEngine is the Windows engine's line of berth status, from
// berth-service (err: why it could not be asked).
func printWindowsEngine(w io.Writer, st winservice.EngineStatus, err error) {
	switch {
	case err != nil:
		fmt.Fprintf(w, "windows:     no Windows engine: %v\n", err)
	case st.State == "running":
		fmt.Fprintf(w, "windows:     running (pid %d, %s), docker host %s\n", st.PID, st.Dockerd, st.Host)
	case st.Reason != "":
		fmt.Fprintf(w, "windows:     %s: %s\n", st.State, st.Reason)
	default:
		fmt.Fprintf(w, "windows:     %s\n", st.State)
	}
}

// watchStatus follows the agent's event stream: a line per change.
func watchStatus(cmd *cobra.Command, m store.Machine, asJSON bool) error {
	out := cmd.OutOrStdout()
	err := api.NewClient(m.AgentSocket()).Events(cmd.Context(), func(ev api.Event) error {
		if asJSON {
			return json.NewEncoder(out).Encode(ev)
		}
		if ev.Status != nil {
			s := ev.Status
			line := fmt.Sprintf("%s  %s", ev.Time.Format("15:04:05"), s.State)
			if s.Phase != "" {
				line += " (" + s.Phase + ")"
			}
			if s.State == api.StatePaused {
				line += pausedNote(s, ev.Time)
			}
			if s.Error != "" {
				line += ": " + s.Error
			}
			fmt.Fprintln(out, line)
		}
		return nil
	})
	switch {
	case errors.Is(err, io.EOF):
		return nil //nolint:nilerr // the agent exited: the machine stopped
	case errors.Is(err, context.Canceled) && cmd.Context().Err() != nil:
		return nil //nolint:nilerr // interrupted by the user: not a failure
	}
	return err
}

// pausedNote says who paused the VM and since when, as of now.
func pausedNote(st *api.Status, now time.Time) string {
	if st.PausedSince.IsZero() {
		return " (resource saver)"
	}
	note := " (resource saver, since " + st.PausedSince.Local().Format("15:04:05")
	if ago := now.Sub(st.PausedSince).Round(time.Second); ago > 0 {
		note += ", " + ago.String() + " ago"
	}
	return note + "; the next docker command resumes it)"
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
