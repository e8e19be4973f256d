package tray

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Desktop is the real Opener, Clipboard, Notifier, Dialogs and Runner: it
// runs the commands of desktop_cmds.go (and, on Windows, message boxes).
type Desktop struct {
	GOOS string
	Log  *slog.Logger
}

var (
	_ Opener    = (*Desktop)(nil)
	_ Clipboard = (*Desktop)(nil)
	_ Notifier  = (*Desktop)(nil)
	_ Dialogs   = (*Desktop)(nil)
	_ Runner    = (*Desktop)(nil)
)

// NewDesktop returns the desktop of this OS.
func NewDesktop(log *slog.Logger) *Desktop {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Desktop{GOOS: runtime.GOOS, Log: log}
}

func onPath(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// launch starts a program and lets it run on its own.
func launch(argv []string) error {
	if len(argv) == 0 {
		return errors.New("nothing to run")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	hideWindow(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running %s: %w", argv[0], err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

func (d *Desktop) OpenURL(url string) error { return launch(openURLCommand(d.GOOS, url)) }
func (d *Desktop) Reveal(path string) error { return launch(revealCommand(d.GOOS, path)) }
func (d *Desktop) Edit(path string) error {
	return launch(editCommand(d.GOOS, path, os.Getenv, onPath))
}

func (d *Desktop) Terminal(title string, argv []string) error {
	return launch(terminalCommand(d.GOOS, title, argv, onPath))
}

func (d *Desktop) Copy(text string) error {
	argv := copyCommand(d.GOOS, onPath)
	if argv == nil {
		return errors.New("no clipboard tool: install wl-clipboard, xclip or xsel")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	hideWindow(cmd)
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", argv[0], err, out)
	}
	return nil
}

func (d *Desktop) Notify(title, body, action string, onAction func()) {
	if d.GOOS == "windows" {
		go func() {
			if messageBoxNotify(title, body, action) && onAction != nil {
				onAction()
			}
		}()
		return
	}
	argv := notifyCommand(d.GOOS, title, body, action)
	cmd := exec.Command(argv[0], argv[1:]...)
	var out strings.Builder
	cmd.Stdout = &out
	// Started before Notify returns, waited for after: the tray may quit
	// right after a notification (quitting without a dialog), and the
	// notification must still show.
	if err := cmd.Start(); err != nil {
		d.Log.Warn("notification", "err", err, "title", title, "body", body)
		return
	}
	go func() {
		if err := cmd.Wait(); err != nil {
			d.Log.Warn("notification", "err", err, "title", title, "body", body)
			return
		}
		if action != "" && strings.TrimSpace(out.String()) == "0" && onAction != nil {
			onAction()
		}
	}()
}

// ask runs a dialog and returns its output and whether it exited 0;
// shown is false when the dialog program could not run at all (zenity is
// not installed), which is no answer from the user.
func (d *Desktop) ask(kind, title, text, ok string) (out string, exitOK, shown bool) {
	argv := dialogCommand(d.GOOS, kind, title, text, ok)
	b, err := exec.Command(argv[0], argv[1:]...).Output()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		d.Log.Warn("dialog", "err", err)
		return "", false, false
	}
	return string(b), err == nil, true
}

// noDialog tells the user why a click that needed a question did nothing.
func (d *Desktop) noDialog(title string) {
	d.Notify(title, "Berth could not ask: no dialog tool (install zenity).", "", nil)
}

func (d *Desktop) AskQuit() QuitChoice {
	const title, text = "Quit Berth", "Stop the engine too? Running containers stop with it."
	if d.GOOS == "windows" {
		return messageBoxQuit(title, text)
	}
	out, ok, shown := d.ask("quit", title, text, "")
	if !shown {
		return QuitNotAsked // the App says what it did instead
	}
	return quitAnswer(d.GOOS, out, ok)
}

func (d *Desktop) Confirm(title, text, okLabel string) bool {
	if d.GOOS == "windows" {
		return messageBoxConfirm(title, text)
	}
	out, ok, shown := d.ask("confirm", title, text, okLabel)
	if !shown {
		d.noDialog(title)
		return false // unconfirmed: nothing is deleted
	}
	if d.GOOS == "darwin" {
		return ok && strings.Contains(out, okLabel)
	}
	return ok
}

func (d *Desktop) Prompt(title, text string) (string, bool) {
	if d.GOOS == "windows" {
		argv := windowsPrompt(title, text)
		cmd := exec.Command(argv[0], argv[1:]...)
		hideWindow(cmd)
		out, err := cmd.Output()
		s := strings.TrimSpace(string(out))
		return s, err == nil && s != ""
	}
	out, ok, shown := d.ask("prompt", title, text, "")
	if !shown {
		d.noDialog(title)
	}
	return promptAnswer(d.GOOS, out), ok
}

func (d *Desktop) Info(title, text string) {
	if d.GOOS == "windows" {
		go messageBoxInfo(title, text)
		return
	}
	go func() {
		if _, _, shown := d.ask("info", title, text, ""); !shown {
			d.Notify(title, text, "", nil) // the text still reaches the user
		}
	}()
}

func (d *Desktop) Run(ctx context.Context, argv []string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	hideWindow(cmd)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
