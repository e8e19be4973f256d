package install

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestPlan(t *testing.T) {
	no := func(string) bool { return false }
	yes := func(string) bool { return true }
	cases := []struct {
		name string
		env  Env
		o    Options
		want []Step
	}{
		{"linux", Env{GOOS: "linux", Home: "/home/u", ExeDir: "/opt/berth/bin", HasTray: true, PathDirs: []string{"/usr/bin"}}, Options{}, []Step{
			{Kind: Autostart, Name: "berth-tray", Command: "/opt/berth/bin/berth-tray"},
			{Kind: Link, Path: "/home/u/.local/bin/berth", Target: "/opt/berth/bin/berth"},
		}},
		{"linux, on PATH, a space", Env{GOOS: "linux", Home: "/home/u", ExeDir: "/home/u/my apps", HasTray: true, PathDirs: []string{"/home/u/my apps/"}}, Options{}, []Step{
			{Kind: Autostart, Name: "berth-tray", Command: "'/home/u/my apps/berth-tray'"},
		}},
		{"linux, no tray, no path", Env{GOOS: "linux", Home: "/h", ExeDir: "/x"}, Options{NoPath: true}, nil},
		{"darwin, /usr/local/bin writable", Env{GOOS: "darwin", Home: "/Users/u", ExeDir: "/Applications/Berth.app/Contents/MacOS", HasTray: true, Writable: yes}, Options{}, []Step{
			{Kind: Autostart, Name: "dev.berth.tray", Command: "/Applications/Berth.app/Contents/MacOS/berth-tray"},
			{Kind: Link, Path: "/usr/local/bin/berth", Target: "/Applications/Berth.app/Contents/MacOS/berth"},
		}},
		{"darwin, not writable, no autostart", Env{GOOS: "darwin", Home: "/Users/u", ExeDir: "/A/MacOS", HasTray: true, Writable: no}, Options{NoAutostart: true}, []Step{
			{Kind: Link, Path: "/Users/u/.local/bin/berth", Target: "/A/MacOS/berth"},
		}},
		{"windows", Env{GOOS: "windows", Home: `C:\Users\u`, ExeDir: `C:\Users\u\berth`, HasTray: true, PathDirs: []string{`C:\Windows`}}, Options{}, []Step{
			{Kind: Autostart, Name: "Berth", Command: `"C:\Users\u\berth\berth-tray.exe"`},
			{Kind: PathEntry, Path: `C:\Users\u\berth`},
		}},
		{"windows, on PATH in other case", Env{GOOS: "windows", Home: `C:\Users\u`, ExeDir: `C:\Users\u\berth`, PathDirs: []string{`c:\users\U\Berth\`}}, Options{}, nil},
	}
	for _, c := range cases {
		got, err := Plan(c.env, c.o)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
	if _, err := Plan(Env{GOOS: "linux"}, Options{}); err == nil {
		t.Error("a plan without the binary's folder")
	}
}

func TestUninstallPlan(t *testing.T) {
	steps, err := UninstallPlan(Env{GOOS: "darwin", Home: "/Users/u", ExeDir: "/A/MacOS"})
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	for _, s := range steps {
		if s.Kind == Link {
			links = append(links, s.Path)
		}
	}
	if steps[0].Kind != Autostart || !slices.Equal(links, []string{"/usr/local/bin/berth", "/Users/u/.local/bin/berth"}) {
		t.Errorf("darwin: %+v", steps)
	}
	steps, _ = UninstallPlan(Env{GOOS: "windows", Home: `C:\u`, ExeDir: `C:\b`})
	if len(steps) != 2 || steps[1] != (Step{Kind: PathEntry, Path: `C:\b`}) {
		t.Errorf("windows: %+v", steps)
	}
}

func TestPathEntries(t *testing.T) {
	v, changed := AddPathEntry("windows", `C:\Windows;C:\Tools;`, `C:\B\bin`)
	if !changed || v != `C:\Windows;C:\Tools;C:\B\bin` {
		t.Errorf("add: %q %v", v, changed)
	}
	if _, changed := AddPathEntry("windows", v, `c:\b\BIN\`); changed {
		t.Error("added twice")
	}
	v, changed = RemovePathEntry("windows", `C:\B\bin;C:\Windows;c:\b\bin`, `C:\B\bin`)
	if !changed || v != `C:\Windows` {
		t.Errorf("remove: %q %v", v, changed)
	}
	if v, _ := AddPathEntry("linux", "", "/x"); v != "/x" {
		t.Errorf("linux add to empty: %q", v)
	}
}

// TestApplyUndo runs a Linux plan for real in a temporary home.
func TestApplyUndo(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("carries out a Linux plan (XDG autostart, a symlink)")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	exeDir := filepath.Join(home, "berth", "bin")
	steps, err := Plan(Env{GOOS: "linux", Home: home, ExeDir: exeDir, HasTray: true}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var said []string
	say := func(s string) { said = append(said, s) }
	if err := Apply(steps, say); err != nil {
		t.Fatal(err)
	}
	entry, err := os.ReadFile(filepath.Join(home, ".config", "autostart", "berth-tray.desktop"))
	if err != nil || !strings.Contains(string(entry), "Exec="+filepath.Join(exeDir, "berth-tray")) {
		t.Errorf("autostart entry: %v\n%s", err, entry)
	}
	link := filepath.Join(home, ".local", "bin", "berth")
	if target, err := os.Readlink(link); err != nil || target != filepath.Join(exeDir, "berth") {
		t.Errorf("link: %q %v", target, err)
	}
	if err := Apply(steps, say); err != nil {
		t.Errorf("installing twice: %v", err)
	}
	un, _ := UninstallPlan(Env{GOOS: "linux", Home: home, ExeDir: exeDir})
	said = nil
	if err := Undo(un, say); err != nil {
		t.Fatal(err)
	}
	if len(said) != 2 {
		t.Errorf("undo said %q", said)
	}
	for _, p := range []string{link, filepath.Join(home, ".config", "autostart", "berth-tray.desktop")} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s remains: %v", p, err)
		}
	}
	// Someone else's file is neither replaced nor removed.
	if err := os.WriteFile(link, []byte("mine"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Apply(steps[1:], say); err == nil || !strings.Contains(err.Error(), "not a link") {
		t.Errorf("over a file: %v", err)
	}
	if err := Undo(un, say); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(link); err != nil || string(b) != "mine" {
		t.Errorf("the user's own file: %q %v", b, err)
	}
}
