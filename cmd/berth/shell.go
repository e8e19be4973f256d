package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/hostagent/api"
)

// exitError carries a command's exit code out of cobra.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newShell(g *globals) *cobra.Command {
	var tty, noTTY bool
	cmd := &cobra.Command{
		Use:   "shell [-- COMMAND [ARG...]]",
		Short: "Open a shell in the VM, or run one command there",
		Long: "Open a shell in the VM (the engine's host, not a container), or run one command:\n" +
			"  berth shell\n  berth shell -- cat /proc/meminfo\n" +
			"The command's exit code becomes berth's.",
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			stdinTTY := term.IsTerminal(int(os.Stdin.Fd()))
			req := agentapi.ExecRequest{Cmd: args, TTY: stdinTTY && (len(args) == 0 || tty) && !noTTY, Term: os.Getenv("TERM")}
			if req.TTY {
				if w, h, err := term.GetSize(int(os.Stdin.Fd())); err == nil {
					req.Cols, req.Rows = uint16(w), uint16(h)
				}
			}
			conn, err := api.NewClient(m.AgentSocket()).Exec(cmd.Context(), req)
			if err != nil {
				return err
			}
			defer conn.Close()
			if req.TTY {
				old, err := term.MakeRaw(int(os.Stdin.Fd()))
				if err != nil {
					return fmt.Errorf("terminal: %w", err)
				}
				defer func() { _ = term.Restore(int(os.Stdin.Fd()), old) }()
				stop := watchResize(func(cols, rows int) { sendResize(conn, rows, cols) })
				defer stop()
			}
			code, err := runExec(conn, cmd.InOrStdin(), cmd.OutOrStdout())
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&tty, "tty", "t", false, "run COMMAND on a terminal (the shell always gets one when stdin is a terminal)")
	cmd.Flags().BoolVarP(&noTTY, "no-tty", "T", false, "never allocate a terminal")
	return cmd
}

var frameMu sync.Mutex

func sendFrame(conn net.Conn, typ byte, p []byte) error {
	frameMu.Lock()
	defer frameMu.Unlock()
	return agentapi.WriteFrame(conn, typ, p)
}

func sendResize(conn net.Conn, rows, cols int) {
	var p [4]byte
	binary.BigEndian.PutUint16(p[:2], uint16(rows))
	binary.BigEndian.PutUint16(p[2:], uint16(cols))
	_ = sendFrame(conn, agentapi.FrameResize, p[:])
}

// runExec feeds stdin as frames and writes output frames until the exit
// frame arrives.
func runExec(conn net.Conn, stdin io.Reader, stdout io.Writer) (int, error) {
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := stdin.Read(buf)
			if n > 0 {
				if sendFrame(conn, agentapi.FrameStdin, buf[:n]) != nil {
					return
				}
			}
			if err != nil {
				_ = sendFrame(conn, agentapi.FrameStdinEOF, nil)
				return
			}
		}
	}()
	for {
		typ, p, err := agentapi.ReadFrame(conn)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, errors.New("the VM closed the session without an exit code")
			}
			return 0, err
		}
		switch typ {
		case agentapi.FrameOutput:
			if _, err := stdout.Write(p); err != nil {
				return 0, err
			}
		case agentapi.FrameExit:
			return agentapi.ExitCode(p), nil
		}
	}
}
