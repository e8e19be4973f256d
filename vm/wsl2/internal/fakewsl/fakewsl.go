// Package fakewsl is a stand-in for wsl.exe in tests: it is not WSL and
// runs nothing. Its command (./wsl, built as wsl.exe) or a test binary
// that calls Main appends one JSON line with its arguments and
// environment to the file FAKEWSL_LOG names, then answers with the first
// reply of FAKEWSL_REPLIES (a JSON file) whose args start its own: that
// reply's recorded output, byte for byte, and its exit code. Like the real
// wsl.exe, it prints its UTF-8 variant only when WSL_UTF8=1 is set and the
// reply has one (older wsl.exe has none), and on --import it creates the
// distro directory with an ext4.vhdx in it before answering, as WSL does
// before it can fail.
//
// A reply can also act as a process that lives on, as the guest init
// that `wsl.exe -d NAME --exec ...` runs: it prints Print, then stays until
// the file StayUntil exists (or it is killed), and exits with Exit. A
// reply's Touch file is created when it answers, so that a `--terminate`
// ends a staying init as WSL's would.
package fakewsl

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Reply is one answer of the stand-in.
type Reply struct {
	// Args the call must start with; empty matches every call.
	Args []string `json:"args"`
	// UTF16 and UTF8 are files of recorded output for stdout; Stderr one
	// for stderr (as older versions print some errors).
	UTF16  string `json:"utf16,omitempty"`
	UTF8   string `json:"utf8,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	Exit   int    `json:"exit"`
	// Print is text for stdout after the recorded output (what a guest
	// program prints, not wsl.exe).
	Print string `json:"print,omitempty"`
	// StayUntil, when set, keeps the stand-in running until this file
	// exists.
	StayUntil string `json:"stayUntil,omitempty"`
	// Touch is a file to create when answering.
	Touch string `json:"touch,omitempty"`
}

// Call is one line of the log.
type Call struct {
	Args []string `json:"args"`
	Env  []string `json:"env"`
}

// Main is the stand-in with wsl.exe's arguments; it answers the exit code.
func Main(args []string) int {
	if err := record(args); err != nil {
		fmt.Fprintln(os.Stderr, "fakewsl:", err)
		return 3
	}
	r, err := reply(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakewsl:", err)
		return 3
	}
	if len(args) >= 3 && args[0] == "--import" {
		if err := halfImport(args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "fakewsl:", err)
			return 3
		}
	}
	stdout := r.UTF16
	if stdout == "" || (os.Getenv("WSL_UTF8") == "1" && r.UTF8 != "") {
		stdout = r.UTF8
	}
	if err := copyFile(os.Stdout, stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fakewsl:", err)
		return 3
	}
	if err := copyFile(os.Stderr, r.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fakewsl:", err)
		return 3
	}
	if r.Print != "" {
		fmt.Fprint(os.Stdout, r.Print)
	}
	if r.Touch != "" {
		if err := os.WriteFile(r.Touch, nil, 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "fakewsl:", err)
			return 3
		}
	}
	if r.StayUntil != "" {
		stay(r.StayUntil)
	}
	return r.Exit
}

func record(args []string) error {
	log := os.Getenv("FAKEWSL_LOG")
	if log == "" {
		return nil
	}
	line, err := json.Marshal(Call{Args: args, Env: os.Environ()})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func reply(args []string) (Reply, error) {
	b, err := os.ReadFile(os.Getenv("FAKEWSL_REPLIES"))
	if err != nil {
		return Reply{}, fmt.Errorf("FAKEWSL_REPLIES: %w", err)
	}
	var replies []Reply
	if err := json.Unmarshal(b, &replies); err != nil {
		return Reply{}, fmt.Errorf("FAKEWSL_REPLIES: %w", err)
	}
	for _, r := range replies {
		if len(r.Args) <= len(args) && slices.Equal(r.Args, args[:len(r.Args)]) {
			return r, nil
		}
	}
	return Reply{}, fmt.Errorf("no reply for %q", args)
}

// stay returns once the file path exists.
func stay(path string) {
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// halfImport leaves what an import leaves before it fails.
func halfImport(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "ext4.vhdx"), []byte("stand-in disk"), 0o600)
}

func copyFile(w *os.File, path string) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
