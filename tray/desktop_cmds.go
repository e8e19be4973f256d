package tray

import (
	"strings"
)

// The commands the desktop implementation runs, as pure functions of the
// OS (and of what is installed, through has), so every OS's choice is
// tested on Linux.

// has reports whether a program is on PATH.
type has func(name string) bool

// openURLCommand opens a URL in the default browser.
func openURLCommand(goos, url string) []string {
	switch goos {
	case "darwin":
		return []string{"open", url}
	case "windows":
		// Not `cmd /c start`: cmd would read & and ^ in the URL.
		return []string{"rundll32", "url.dll,FileProtocolHandler", url}
	}
	return []string{"xdg-open", url}
}

// revealCommand shows a file in the file manager.
func revealCommand(goos, path string) []string {
	switch goos {
	case "darwin":
		return []string{"open", "-R", path}
	case "windows":
		return []string{"explorer", "/select," + path}
	}
	return []string{"xdg-open", dirOf(path)}
}

func dirOf(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i > 0 {
		return path[:i]
	}
	return "."
}

// editCommand opens a text file in the user's editor: $VISUAL or $EDITOR
// in a terminal when set (a terminal editor), else the desktop's own.
func editCommand(goos, path string, getenv func(string) string, h has) []string {
	for _, v := range []string{"VISUAL", "EDITOR"} {
		if e := getenv(v); e != "" {
			return terminalCommand(goos, "Berth settings", append(strings.Fields(e), path), h)
		}
	}
	switch goos {
	case "darwin":
		return []string{"open", "-t", path}
	case "windows":
		return []string{"notepad.exe", path}
	}
	return []string{"xdg-open", path}
}

// terminalCommand opens a terminal window running argv.
func terminalCommand(goos, title string, argv []string, h has) []string {
	switch goos {
	case "darwin":
		script := `tell application "Terminal" to activate` + "\n" +
			`tell application "Terminal" to do script ` + appleQuote(shellJoin(argv))
		return []string{"osascript", "-e", script}
	case "windows":
		// start opens a new console window; cmd /k keeps it after the command.
		return append([]string{"cmd.exe", "/c", "start", title, "cmd.exe", "/k"}, argv...)
	}
	switch {
	case h("x-terminal-emulator"): // Debian's alternative: every packaged terminal takes -e
		return append([]string{"x-terminal-emulator", "-T", title, "-e"}, argv...)
	case h("gnome-terminal"):
		return append([]string{"gnome-terminal", "--title", title, "--"}, argv...)
	case h("konsole"):
		return append([]string{"konsole", "-e"}, argv...)
	case h("xfce4-terminal"):
		return []string{"xfce4-terminal", "--title", title, "-e", shellJoin(argv)}
	}
	return append([]string{"xterm", "-T", title, "-e"}, argv...)
}

// copyCommand reads the text to copy on its standard input.
func copyCommand(goos string, h has) []string {
	switch goos {
	case "darwin":
		return []string{"pbcopy"}
	case "windows":
		return []string{"clip.exe"}
	}
	switch {
	case h("wl-copy"):
		return []string{"wl-copy"}
	case h("xclip"):
		return []string{"xclip", "-selection", "clipboard"}
	case h("xsel"):
		return []string{"xsel", "--clipboard", "--input"}
	}
	return nil
}

// notifyCommand shows a notification; on Linux with an action it waits and
// prints the action's key ("0") when picked. Windows notifications are
// not commands (desktop_windows.go).
func notifyCommand(goos, title, body, action string) []string {
	if goos == "darwin" {
		return []string{"osascript", "-e", "display notification " + appleQuote(body) + " with title " + appleQuote(title)}
	}
	cmd := []string{"notify-send", "--app-name=Berth"}
	if action != "" {
		cmd = append(cmd, "--action=0="+action, "--wait")
	}
	return append(cmd, title, body)
}

// dialogCommand builds a question for zenity (Linux) or osascript (macOS).
// kind is "quit", "confirm", "prompt" or "info".
func dialogCommand(goos, kind, title, text, okLabel string) []string {
	if goos == "darwin" {
		var s string
		switch kind {
		case "quit":
			s = `display dialog ` + appleQuote(text) + ` with title ` + appleQuote(title) +
				` buttons {"Cancel", "Leave it running", "Stop the engine"} default button "Stop the engine"`
		case "confirm":
			s = `display dialog ` + appleQuote(text) + ` with title ` + appleQuote(title) +
				` buttons {"Cancel", ` + appleQuote(okLabel) + `} default button "Cancel" with icon caution`
		case "prompt":
			s = `display dialog ` + appleQuote(text) + ` with title ` + appleQuote(title) + ` default answer ""`
		default:
			s = `display dialog ` + appleQuote(text) + ` with title ` + appleQuote(title) + ` buttons {"OK"} default button "OK"`
		}
		return []string{"osascript", "-e", s}
	}
	base := []string{"zenity", "--title=" + title, "--text=" + text}
	switch kind {
	case "quit":
		return append([]string{"zenity", "--question"}, append(base[1:], "--ok-label=Stop the engine",
			"--cancel-label=Cancel", "--extra-button=Leave it running")...)
	case "confirm":
		return append([]string{"zenity", "--question"}, append(base[1:], "--ok-label="+okLabel, "--cancel-label=Cancel")...)
	case "prompt":
		return append([]string{"zenity", "--entry"}, base[1:]...)
	}
	return append([]string{"zenity", "--info"}, base[1:]...)
}

// quitAnswer reads the quit dialog's result: zenity exits 0 on OK and
// prints an extra button's label; osascript prints "button returned:...".
func quitAnswer(goos, out string, exitOK bool) QuitChoice {
	out = strings.TrimSpace(out)
	switch {
	case strings.Contains(out, "Leave it running"):
		return QuitLeaveRunning
	case goos == "darwin" && strings.Contains(out, "Stop the engine"):
		return QuitStopEngine
	case goos != "darwin" && exitOK:
		return QuitStopEngine
	}
	return QuitCancel
}

// promptAnswer reads the text typed into a prompt.
func promptAnswer(goos, out string) string {
	out = strings.TrimSpace(out)
	if goos == "darwin" {
		if _, after, ok := strings.Cut(out, "text returned:"); ok {
			return strings.TrimSpace(after)
		}
	}
	return out
}

// appleQuote quotes s as an AppleScript string.
func appleQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// shellJoin quotes argv for a POSIX shell.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// psQuote quotes s as a PowerShell single-quoted string.
func psQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// windowsPrompt asks for a line of text with the Visual Basic input box
// (there is no input dialog in user32).
func windowsPrompt(title, text string) []string {
	return []string{"powershell.exe", "-NoProfile", "-NonInteractive", "-Command",
		"Add-Type -AssemblyName Microsoft.VisualBasic; [Microsoft.VisualBasic.Interaction]::InputBox(" +
			psQuote(text) + ", " + psQuote(title) + ")"}
}
