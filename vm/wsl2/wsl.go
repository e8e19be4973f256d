// Package wsl2 drives wsl.exe for the WSL 2 driver: it imports, lists,
// stops and removes the distro Berth owns for a machine (berth-<machine>)
// and builds the long-lived command that runs the guest's init in it.
//
// Everything but starting the process is pure and runs on any OS: a Client
// sends its calls through a Runner (Exe, or a test's fake), decodes what
// wsl.exe printed (UTF-16LE or UTF-8, see Decode) and turns failures into an
// *Error whose Kind says what is missing and how to get it. Only the
// distro names of `-l -q` are parsed, never the localized state column of
// `-l -v`; errors are recognised by the error codes WSL prints, which are
// not translated (English text only for older versions that print none).
package wsl2

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Client is one wsl.exe.
type Client struct {
	exe Exe
	run Runner
}

// New is a Client of the wsl.exe at path ("" for wsl.exe in PATH).
func New(path string) *Client {
	x := Exe{Path: path}
	return &Client{exe: x, run: x}
}

// NewWithRunner is a Client whose one-shot calls go to r; Exec still
// builds commands of the wsl.exe at path.
func NewWithRunner(path string, r Runner) *Client {
	return &Client{exe: Exe{Path: path}, run: r}
}

// call runs wsl.exe with args and decodes its output; a failure is an
// *Error.
func (c *Client) call(ctx context.Context, args ...string) (string, error) {
	out, err := c.run.Run(ctx, args)
	text := Decode(out.Stdout)
	if errText := Decode(out.Stderr); errText != "" {
		text = strings.TrimRight(text, "\n") + "\n" + errText
		text = strings.TrimLeft(text, "\n")
	}
	if err != nil {
		e := &Error{Args: args, ExitCode: -1, Output: text, Err: err}
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			e.Kind, e.Fix = ErrNotInstalled, notInstalledFix
		}
		return text, e
	}
	if out.ExitCode != 0 {
		return text, classify(args, out.ExitCode, text)
	}
	return text, nil
}

// List is the names of every registered distro (`-l -q`).
func (c *Client) List(ctx context.Context) ([]string, error) {
	return c.list(ctx, "-l", "-q")
}

// ListRunning is the names of the running distros (`-l -q --running`).
func (c *Client) ListRunning(ctx context.Context) ([]string, error) {
	return c.list(ctx, "-l", "-q", "--running")
}

func (c *Client) list(ctx context.Context, args ...string) ([]string, error) {
	text, err := c.call(ctx, args...)
	if errors.Is(err, ErrNoDistros) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return lines(text), nil
}

// Exists reports whether a distro is registered under name (compared as
// WSL compares names, regardless of case).
func (c *Client) Exists(ctx context.Context, name string) (bool, error) {
	names, err := c.List(ctx)
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if sameDistro(n, name) {
			return true, nil
		}
	}
	return false, nil
}

// Running reports whether the distro name runs.
func (c *Client) Running(ctx context.Context, name string) (bool, error) {
	names, err := c.ListRunning(ctx)
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if sameDistro(n, name) {
			return true, nil
		}
	}
	return false, nil
}

// Terminate stops the distro name (`--terminate`); ErrDistroNotFound when
// there is none.
func (c *Client) Terminate(ctx context.Context, name string) error {
	if err := ValidateDistroName(name); err != nil {
		return err
	}
	_, err := c.call(ctx, "--terminate", name)
	return err
}

// Unregister removes the distro name and its disk (`--unregister`);
// ErrDistroNotFound when there is none.
func (c *Client) Unregister(ctx context.Context, name string) error {
	if err := ValidateDistroName(name); err != nil {
		return err
	}
	_, err := c.call(ctx, "--unregister", name)
	return err
}

// Status is the text of `wsl --status` (default distro and version, and
// on some versions what is missing). It is translated: for diagnostics,
// never parsed.
func (c *Client) Status(ctx context.Context) (string, error) {
	return c.call(ctx, "--status")
}

// cleanupTimeout bounds the cleanup of a failed import, which runs even
// when the caller's context is done.
const cleanupTimeout = 2 * time.Minute

// ImportArgs are the arguments of importing tar as distro name into dir:
// always a WSL 2 distro, whatever the user's default version.
func ImportArgs(name, dir, tar string) []string {
	return []string{"--import", name, dir, tar, "--version", "2"}
}

// Import registers the root file system tar as the WSL 2 distro name, with
// its disk in dir. dir must not exist or be empty. A distro already
// registered under name fails with ErrDistroExists and is left alone (see
// EnsureImported for the idempotent form), as is one registered in dir
// (ErrDirInUse). Any other failure leaves
// nothing behind: the distro is unregistered (WSL may have registered it
// before failing) and dir removed, or emptied if it was there before.
func (c *Client) Import(ctx context.Context, name, dir, tar string) error {
	if err := ValidateDistroName(name); err != nil {
		return err
	}
	existed, err := emptyDir(dir)
	if err != nil {
		return err
	}
	_, err = c.call(ctx, ImportArgs(name, dir, tar)...)
	if err == nil || errors.Is(err, ErrDistroExists) || errors.Is(err, ErrDirInUse) {
		return err // nothing of ours to undo
	}
	return errors.Join(err, c.undoImport(context.WithoutCancel(ctx), err, name, dir, existed))
}

// EnsureImported imports tar as name unless a distro of that name is
// registered already; imported says whether it did. It is for a caller
// that knows the existing distro is its own (Berth's prefix): WSL cannot
// tell which image or directory an existing distro came from.
func (c *Client) EnsureImported(ctx context.Context, name, dir, tar string) (imported bool, err error) {
	ok, err := c.Exists(ctx, name)
	if err != nil || ok {
		return false, err
	}
	err = c.Import(ctx, name, dir, tar)
	if errors.Is(err, ErrDistroExists) {
		return false, nil // registered since the list: by another caller
	}
	return err == nil, err
}

// undoImport removes what a failed import may have left.
// A wsl.exe that is not there registered nothing.
func (c *Client) undoImport(ctx context.Context, failed error, name, dir string, keepDir bool) error {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	var errs []error
	if !errors.Is(failed, ErrNotInstalled) {
		if err := c.Unregister(ctx, name); err != nil && !errors.Is(err, ErrDistroNotFound) {
			errs = append(errs, fmt.Errorf("removing the half-imported distro: %w", err))
		}
	}
	if err := removeImportDir(dir, keepDir); err != nil {
		errs = append(errs, fmt.Errorf("removing what the failed import left in %s: %w", dir, err))
	}
	return errors.Join(errs...)
}

// emptyDir checks that dir is absent or empty, and says which.
func emptyDir(dir string) (exists bool, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("distro directory: %w", err)
	}
	if len(entries) > 0 {
		return true, fmt.Errorf("distro directory %s is not empty (%s...): it may hold another distro's disk", dir, entries[0].Name())
	}
	return true, nil
}

// removeImportDir removes dir, or only what is in it when keep is set.
func removeImportDir(dir string, keep bool) error {
	if !keep {
		return os.RemoveAll(dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}

// ExecArgs are the arguments that run argv as root in the distro name,
// without a shell (`-d NAME -u root --exec ARGV...`).
func ExecArgs(name string, argv []string) ([]string, error) {
	if err := ValidateDistroName(name); err != nil {
		return nil, err
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("wsl --exec: no command")
	}
	return append([]string{"-d", name, "-u", "root", "--exec"}, argv...), nil
}

// Exec is the command that runs argv as root in the distro name, for as
// long as the caller keeps it: while it runs, WSL keeps the distro (and its
// VM) from stopping when idle. The caller connects its input and output and
// starts it; ctx's end kills it. WSL looks root up in the distro's
// /etc/passwd, so the image must have one.
func (c *Client) Exec(ctx context.Context, name string, argv ...string) (*exec.Cmd, error) {
	args, err := ExecArgs(name, argv)
	if err != nil {
		return nil, err
	}
	return c.exe.Command(ctx, args...), nil
}

// ResizeArgs are the arguments that set the virtual size of the distro
// name's disk to gib GiB (`--manage NAME --resize <N>GB`; WSL reads GB as
// 2^30 bytes, ParseMemorySize in the WSL sources). WSL 2.5 or later.
func ResizeArgs(name string, gib int) []string {
	return []string{"--manage", name, "--resize", fmt.Sprintf("%dGB", gib)}
}

// Resize sets the size of the distro name's disk to gib GiB; the distro
// must not run.
func (c *Client) Resize(ctx context.Context, name string, gib int) error {
	if err := ValidateDistroName(name); err != nil {
		return err
	}
	if gib < 1 {
		return fmt.Errorf("wsl --manage --resize: %d GiB, want at least 1", gib)
	}
	_, err := c.call(ctx, ResizeArgs(name, gib)...)
	return err
}

// Output runs argv as root in the distro name to its end, as Exec does,
// and gives what it printed: for short commands (wslinfo). A failure is
// an *Error, with the command's output.
func (c *Client) Output(ctx context.Context, name string, argv ...string) (string, error) {
	args, err := ExecArgs(name, argv)
	if err != nil {
		return "", err
	}
	return c.call(ctx, args...)
}
