package tray

import (
	"slices"
	"strings"
	"testing"
)

func only(names ...string) has { return func(n string) bool { return slices.Contains(names, n) } }

func TestDesktopCommands(t *testing.T) {
	j := func(s []string) string { return strings.Join(s, "|") }
	noEnv := func(string) string { return "" }
	for _, c := range []struct{ got, want string }{
		{j(openURLCommand("linux", "http://localhost:8080")), "xdg-open|http://localhost:8080"},
		{j(openURLCommand("darwin", "http://localhost:8080")), "open|http://localhost:8080"},
		{j(openURLCommand("windows", "http://localhost:8080/?a&b")), "rundll32|url.dll,FileProtocolHandler|http://localhost:8080/?a&b"},
		{j(revealCommand("linux", "/home/u/b.tar.gz")), "xdg-open|/home/u"},
		{j(revealCommand("darwin", "/Users/u/b.tar.gz")), "open|-R|/Users/u/b.tar.gz"},
		{j(revealCommand("windows", `C:\Users\u\b.tar.gz`)), `explorer|/select,C:\Users\u\b.tar.gz`},
		{j(editCommand("linux", "/h/config.yaml", noEnv, only())), "xdg-open|/h/config.yaml"},
		{j(editCommand("darwin", "/h/config.yaml", noEnv, only())), "open|-t|/h/config.yaml"},
		{j(editCommand("windows", `C:\h\config.yaml`, noEnv, only())), `notepad.exe|C:\h\config.yaml`},
		{j(editCommand("linux", "/h/config.yaml", func(k string) string {
			return map[string]string{"EDITOR": "vim -p"}[k]
		}, only("x-terminal-emulator"))), "x-terminal-emulator|-T|Berth settings|-e|vim|-p|/h/config.yaml"},
		{j(terminalCommand("linux", "Berth shell", []string{"/usr/bin/berth", "shell"}, only("gnome-terminal"))), "gnome-terminal|--title|Berth shell|--|/usr/bin/berth|shell"},
		{j(terminalCommand("linux", "t", []string{"berth", "shell"}, only())), "xterm|-T|t|-e|berth|shell"},
		{j(terminalCommand("darwin", "t", []string{"/Applications/Berth.app/x y/berth", "shell"}, only())),
			"osascript|-e|tell application \"Terminal\" to activate\ntell application \"Terminal\" to do script \"'/Applications/Berth.app/x y/berth' shell\""},
		{j(terminalCommand("windows", "Berth shell", []string{`C:\b\berth.exe`, "shell"}, only())), `cmd.exe|/c|start|Berth shell|cmd.exe|/k|C:\b\berth.exe|shell`},
		{j(copyCommand("linux", only("xclip", "xsel"))), "xclip|-selection|clipboard"},
		{j(copyCommand("linux", only())), ""},
		{j(copyCommand("darwin", only())), "pbcopy"},
		{j(copyCommand("windows", only())), "clip.exe"},
		{j(notifyCommand("linux", "Berth could not start", "no KVM", "View logs")), "notify-send|--app-name=Berth|--action=0=View logs|--wait|Berth could not start|no KVM"},
		{j(notifyCommand("darwin", "T", `say "hi"`, "")), `osascript|-e|display notification "say \"hi\"" with title "T"`},
		{j(dialogCommand("linux", "quit", "Quit Berth", "Stop?", "")), "zenity|--question|--title=Quit Berth|--text=Stop?|--ok-label=Stop the engine|--cancel-label=Cancel|--extra-button=Leave it running"},
		{j(dialogCommand("linux", "prompt", "Forward a port", "Port?", "")), "zenity|--entry|--title=Forward a port|--text=Port?"},
		{j(windowsPrompt("T", "it's")), "powershell.exe|-NoProfile|-NonInteractive|-Command|Add-Type -AssemblyName Microsoft.VisualBasic; [Microsoft.VisualBasic.Interaction]::InputBox('it''s', 'T')"},
	} {
		if c.got != c.want {
			t.Errorf("got  %q\nwant %q", c.got, c.want)
		}
	}
}

func TestDialogAnswers(t *testing.T) {
	for _, c := range []struct {
		goos, out string
		ok        bool
		want      QuitChoice
	}{
		{"linux", "", true, QuitStopEngine},
		{"linux", "Leave it running\n", false, QuitLeaveRunning},
		{"linux", "", false, QuitCancel},
		{"darwin", "button returned:Stop the engine\n", true, QuitStopEngine},
		{"darwin", "button returned:Leave it running\n", true, QuitLeaveRunning},
		{"darwin", "", false, QuitCancel},
	} {
		if got := quitAnswer(c.goos, c.out, c.ok); got != c.want {
			t.Errorf("%s %q %v: %v, want %v", c.goos, c.out, c.ok, got, c.want)
		}
	}
	if got := promptAnswer("darwin", "button returned:OK, text returned:8080:80\n"); got != "8080:80" {
		t.Errorf("darwin prompt %q", got)
	}
	if got := promptAnswer("linux", "8080\n"); got != "8080" {
		t.Errorf("linux prompt %q", got)
	}
}
