package autostart

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string][]string{
		`/usr/local/bin/berth-tray`: {"/usr/local/bin/berth-tray"},
		`  /Applications/Berth.app/Contents/MacOS/berth-tray   --minimized `: {"/Applications/Berth.app/Contents/MacOS/berth-tray", "--minimized"},
		`'/Users/a b/bin/berth-tray' --home '/Users/a b/.berth'`:             {"/Users/a b/bin/berth-tray", "--home", "/Users/a b/.berth"},
		`"/Users/a b/berth" "say \"hi\" \$HOME \\ \n"`:                       {"/Users/a b/berth", `say "hi" $HOME \ \n`},
		`/Users/a\ b/berth it\'s`:                                            {"/Users/a b/berth", "it's"},
		`berth '' ""`:                                                        {"berth", "", ""},
		`berth 'it'\''s'`:                                                    {"berth", "it's"},
		"berth\t--a\n--b":                                                    {"berth", "--a", "--b"},
		`berth a'b'"c"d`:                                                     {"berth", "abcd"},
		`berth $HOME|x;y`:                                                    {"berth", "$HOME|x;y"}, // no shell: nothing expands
	} {
		got, err := splitCommand(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("splitCommand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "   ", `berth 'open`, `berth "open`, `berth \`} {
		if got, err := splitCommand(in); err == nil {
			t.Errorf("splitCommand(%q) = %q, want an error", in, got)
		}
	}
}

func TestJoinCommandRoundTrip(t *testing.T) {
	for _, args := range [][]string{
		{"/usr/local/bin/berth-tray"},
		{"/Users/a b/bin/berth-tray", "--home=/Users/a b/.berth"},
		{"berth", "it's", `"quoted"`, `back\slash`, "", "$HOME", "tab\there", "ünïcode"},
	} {
		line := joinCommand(args)
		got, err := splitCommand(line)
		if err != nil || !slices.Equal(got, args) {
			t.Errorf("splitCommand(joinCommand(%q)) = %q (%q), %v", args, got, line, err)
		}
	}
	if got := joinCommand([]string{"/usr/local/bin/berth-tray", "--minimized"}); got != "/usr/local/bin/berth-tray --minimized" {
		t.Errorf("plain words were quoted: %q", got)
	}
}

// The generated agent, read back by encoding/xml alone, is what launchd
// reads: a dict with the label, the split arguments and RunAtLoad.
func TestLaunchAgentXML(t *testing.T) {
	b, err := launchAgent("dev.berth.tray", `'/Users/a b/bin/berth-tray' --minimized`)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name `xml:"plist"`
		Version string   `xml:"version,attr"`
		Dict    struct {
			Items []struct {
				XMLName xml.Name
				Text    string   `xml:",chardata"`
				Strings []string `xml:"string"`
			} `xml:",any"`
		} `xml:"dict"`
	}
	if err := xml.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	got := map[string]string{}
	for i := 0; i+1 < len(doc.Dict.Items); i += 2 {
		k, v := doc.Dict.Items[i], doc.Dict.Items[i+1]
		if k.XMLName.Local != "key" {
			t.Fatalf("item %d is <%s>, want <key>", i, k.XMLName.Local)
		}
		switch v.XMLName.Local {
		case "array":
			got[k.Text] = "array:" + strings.Join(v.Strings, "|")
		case "true", "false":
			got[k.Text] = v.XMLName.Local
		default:
			got[k.Text] = v.XMLName.Local + ":" + v.Text
		}
	}
	want := map[string]string{
		"Label":            "string:dev.berth.tray",
		"ProgramArguments": "array:/Users/a b/bin/berth-tray|--minimized",
		"RunAtLoad":        "true",
	}
	if doc.Version != "1.0" || len(got) != len(want) || len(doc.Dict.Items) != 2*len(want) {
		t.Fatalf("plist version %q, entries %v\n%s", doc.Version, got, b)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, err := launchAgent("dev.berth.tray", `berth 'open`); err == nil {
		t.Error("an unclosed quote made an agent")
	}
}

func TestLaunchAgentSetGetDelete(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Library", "LaunchAgents") // made by set
	name := "dev.berth.test"
	if _, ok, err := getLaunchAgent(dir, name); err != nil || ok {
		t.Fatalf("get before set = ok %v, err %v", ok, err)
	}
	cmd := `'/Users/a b/bin/berth-tray' --minimized`
	if err := setLaunchAgent(dir, name, cmd); err != nil {
		t.Fatal(err)
	}
	got, ok, err := getLaunchAgent(dir, name)
	if err != nil || !ok || got != cmd {
		t.Fatalf("get = %q, %v, %v; want %q", got, ok, err, cmd)
	}
	if err := setLaunchAgent(dir, name, cmd+" --quiet"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := getLaunchAgent(dir, name); got != cmd+" --quiet" {
		t.Fatalf("set did not replace: %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != name+".plist" {
		t.Fatalf("LaunchAgents holds %v, want only %s.plist", entries, name)
	}
	if err := deleteLaunchAgent(dir, name); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := getLaunchAgent(dir, name); err != nil || ok {
		t.Fatalf("get after delete = ok %v, err %v", ok, err)
	}
	if err := deleteLaunchAgent(dir, name); err != nil {
		t.Fatalf("delete of a missing agent: %v", err)
	}
}

func TestLaunchAgentRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", "../evil", "a/b", ".hidden", "has space"} {
		if err := setLaunchAgent(dir, name, "berth"); err == nil {
			t.Errorf("set with name %q succeeded", name)
		}
	}
	if err := setLaunchAgent(dir, "dev.berth.x", "  "); err == nil {
		t.Error("set with an empty command succeeded")
	}
	// A file that is not an agent is an error, not a missing entry.
	if err := os.WriteFile(filepath.Join(dir, "dev.berth.bad.plist"), []byte("<plist><dict><key>Label</key><string>x</string></dict></plist>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := getLaunchAgent(dir, "dev.berth.bad"); err == nil || ok || !strings.Contains(err.Error(), "ProgramArguments") {
		t.Errorf("get of an agent without ProgramArguments = ok %v, err %v", ok, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("refused sets left files: %v", entries)
	}
}
