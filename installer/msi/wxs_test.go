package msi

import (
	"encoding/xml"
	"regexp"
	"strings"
	"testing"

	"github.com/berth-dev/berth/installer/layout"
)

func testOptions() Options {
	return Options{
		Version: "1.2.3", Berth: "w/berth.exe", Tray: "w/berth-tray.exe", Icon: "w/berth.ico", ImageDir: "img",
		Image: []layout.File{{Path: "manifest.json"}, {Path: "rootfs.img"}, {Path: "virtiofsd/x"}, {Path: "wsl-rootfs.tar.gz"}, {Path: "sub/dir/f & g"}},
	}
}

// node is any WiX element, for reading the source back.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
}

func (n node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// walk calls f with every element and the Name attributes of the
// Directory elements above it.
func walk(n node, dirs []string, f func(n node, dirs []string)) {
	f(n, dirs)
	if n.XMLName.Local == "Directory" && n.attr("Name") != "" {
		dirs = append(append([]string(nil), dirs...), n.attr("Name"))
	}
	for _, c := range n.Nodes {
		walk(c, dirs, f)
	}
}

func TestWXS(t *testing.T) {
	src, err := WXS(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	var root node
	if err := xml.Unmarshal(src, &root); err != nil {
		t.Fatalf("the WiX source is not XML: %v\n%s", err, src)
	}
	files := map[string]string{} // install path: source
	guids := map[string]bool{}
	refs := map[string]bool{}
	var comps []string
	var product, upgrade, pkg, run, shortcut node
	walk(root, nil, func(n node, dirs []string) {
		switch n.XMLName.Local {
		case "Product":
			product = n
		case "Package":
			pkg = n
		case "MajorUpgrade":
			upgrade = n
		case "File":
			files[strings.TrimPrefix(strings.Join(append(dirs, n.attr("Name")), `\`), `SourceDir\`)] = n.attr("Source")
		case "Component":
			comps = append(comps, n.attr("Id"))
			if guids[n.attr("Guid")] {
				t.Errorf("GUID %s twice", n.attr("Guid"))
			}
			guids[n.attr("Guid")] = true
		case "ComponentRef":
			refs[n.attr("Id")] = true
		case "RegistryValue":
			if n.attr("Key") == RunKey {
				run = n
			}
		case "Shortcut":
			shortcut = n
		}
	})
	if product.attr("Version") != "1.2.3" || product.attr("UpgradeCode") != UpgradeCode || product.attr("Id") != "*" {
		t.Errorf("Product %v", product.Attrs)
	}
	if pkg.attr("InstallScope") != "perUser" || upgrade.XMLName.Local == "" {
		t.Errorf("per-user %v, major upgrade %v", pkg.Attrs, upgrade.Attrs)
	}
	want := map[string]string{
		`Programs\Berth\bin\berth.exe`:                             "w/berth.exe",
		`Programs\Berth\bin\berth-tray.exe`:                        "w/berth-tray.exe",
		`Programs\Berth\share\berth\image\amd64\manifest.json`:     "img/manifest.json",
		`Programs\Berth\share\berth\image\amd64\rootfs.img`:        "img/rootfs.img",
		`Programs\Berth\share\berth\image\amd64\wsl-rootfs.tar.gz`: "img/wsl-rootfs.tar.gz",
		`Programs\Berth\share\berth\image\amd64\sub\dir\f & g`:     "img/sub/dir/f & g",
	}
	for p, src := range want {
		if files[p] != src {
			t.Errorf("%s: from %q, want %q", p, files[p], src)
		}
	}
	if len(files) != len(want) {
		t.Errorf("files %v, want %v (no virtiofsd: a Linux program)", files, want)
	}
	for _, c := range comps {
		if !refs[c] {
			t.Errorf("component %s is in no feature", c)
		}
	}
	if run.attr("Root") != "HKCU" || run.attr("Name") != "Berth" || run.attr("Value") != `"[BINDIR]berth-tray.exe"` {
		t.Errorf("Run value %v", run.Attrs)
	}
	if shortcut.attr("Directory") != "ProgramMenuFolder" || shortcut.attr("Target") != "[BINDIR]berth-tray.exe" {
		t.Errorf("shortcut %v", shortcut.Attrs)
	}
	ids := regexp.MustCompile(`Id="([^"]*)"`)
	for _, m := range ids.FindAllStringSubmatch(string(src), -1) {
		if len(m[1]) > 72 {
			t.Errorf("identifier %s is longer than 72", m[1])
		}
	}
}

func TestWXSStableGUIDs(t *testing.T) {
	a, _ := WXS(testOptions())
	o := testOptions()
	o.Version = "1.2.4"
	b, _ := WXS(o)
	g := regexp.MustCompile(`Guid="[^"]*"`)
	if ga, gb := g.FindAllString(string(a), -1), g.FindAllString(string(b), -1); strings.Join(ga, " ") != strings.Join(gb, " ") || len(ga) < 3 {
		t.Errorf("component GUIDs change with the version: %v / %v", ga, gb)
	}
}

func TestWXSBadInput(t *testing.T) {
	o := testOptions()
	o.Version = "1.2"
	if _, err := WXS(o); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("version 1.2: %v", err)
	}
	o = testOptions()
	o.Tray = ""
	if _, err := WXS(o); err == nil || !strings.Contains(err.Error(), "berth-tray.exe") {
		t.Errorf("no tray: %v", err)
	}
	o = testOptions()
	o.Image = append(o.Image, layout.File{Path: "lnk", Link: "x"})
	if _, err := WXS(o); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("a symlink: %v", err)
	}
}

func TestEnvironment(t *testing.T) {
	idt := EnvironmentTables()["Environment.idt"]
	if !strings.Contains(idt, "PATH\t=-PATH\t[~];[BINDIR]\tc_integration\r\n") {
		t.Errorf("Environment.idt:\n%s", idt)
	}
	if !strings.Contains(string(must(WXS(testOptions()))), `Component Id="c_integration"`) {
		t.Error("the Environment row's component is not in the source")
	}
}

func TestSignerFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if _, ok, err := SignerFromEnv(env(nil)); ok || err != nil {
		t.Errorf("unset: %v %v", ok, err)
	}
	if _, _, err := SignerFromEnv(env(map[string]string{"BERTH_SIGN_CERT": "c"})); err == nil || !strings.Contains(err.Error(), "BERTH_SIGN_KEY") {
		t.Errorf("cert only: %v", err)
	}
	s, ok, err := SignerFromEnv(env(map[string]string{"BERTH_SIGN_CERT": "c.pem", "BERTH_SIGN_KEY": "k.pem"}))
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	args := strings.Join(s.SignArgs("in.msi", "out.msi"), " ")
	if !strings.Contains(args, "-certs c.pem -key k.pem") || !strings.Contains(args, "-in in.msi -out out.msi") {
		t.Errorf("osslsigncode %s", args)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
