package autostart

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestXDGEntry(t *testing.T) {
	b, err := xdgEntry("berth-tray", `'/home/a b/bin/berth-tray' --x=50% 'it"s$'`)
	if err != nil {
		t.Fatal(err)
	}
	want := `Exec="/home/a b/bin/berth-tray" --x=50%% "it\\"s\\$"` + "\n"
	if !strings.Contains(string(b), want) || !strings.HasPrefix(string(b), "[Desktop Entry]\nType=Application\n") {
		t.Errorf("entry:\n%s\nwant the line %s", b, want)
	}
	cmd, err := xdgCommand(b)
	if err != nil {
		t.Fatal(err)
	}
	args, _ := splitCommand(cmd)
	if !slices.Equal(args, []string{"/home/a b/bin/berth-tray", "--x=50%", `it"s$`}) {
		t.Errorf("read back %q = %q", cmd, args)
	}
}

func TestXDGSetGetDelete(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "autostart")
	if _, ok, err := getXDG(dir, "berth-tray"); ok || err != nil {
		t.Fatalf("before: %v %v", ok, err)
	}
	if err := setXDG(dir, "berth-tray", "/usr/bin/berth-tray"); err != nil {
		t.Fatal(err)
	}
	cmd, ok, err := getXDG(dir, "berth-tray")
	if !ok || err != nil || cmd != "/usr/bin/berth-tray" {
		t.Fatalf("get = %q %v %v", cmd, ok, err)
	}
	if err := deleteXDG(dir, "berth-tray"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "berth-tray.desktop")); !os.IsNotExist(err) {
		t.Errorf("still there: %v", err)
	}
	if err := deleteXDG(dir, "berth-tray"); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
	if err := setXDG(dir, "../x", "y"); err == nil {
		t.Error("a name with a slash was taken")
	}
	if err := setXDG(dir, "x", `'open`); err == nil {
		t.Error("an unclosed quote was taken")
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.desktop"), []byte("[Desktop Entry]\nName=x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := getXDG(dir, "bad"); err == nil || !strings.Contains(err.Error(), "Exec") {
		t.Errorf("no Exec: %v", err)
	}
}
