package disttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/installer/msi"
)

// prefix is a fresh Wine prefix with the ProcessPrng shim that Go
// binaries need under Wine 8 (hack/wine, as tools/winetest does).
type prefix struct {
	dir string
	env []string
}

func newPrefix(t *testing.T) *prefix {
	t.Helper()
	work := t.TempDir()
	p := &prefix{dir: filepath.Join(work, "prefix")}
	p.env = []string{"WINEPREFIX=" + p.dir, "WINEARCH=win64", "WINEDEBUG=-all", "DISPLAY=",
		// No Mono or Gecko installers, and no menu entries on the host.
		"WINEDLLOVERRIDES=mscoree,mshtml,winemenubuilder.exe="}
	dll := filepath.Join(work, "bcryptprimitives.dll")
	src := filepath.Join("..", "..", "hack", "wine")
	run(t, 2*time.Minute, nil, "x86_64-w64-mingw32-gcc", "-shared", "-O2", "-s", "-o", dll,
		filepath.Join(src, "processprng.c"), filepath.Join(src, "processprng.def"), "-ladvapi32")
	run(t, 5*time.Minute, p.env, "wineboot", "--init")
	run(t, 3*time.Minute, p.env, "wineserver", "-w")
	b, err := os.ReadFile(dll)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "drive_c", "windows", "system32", "bcryptprimitives.dll"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	// One persistent wineserver for the test (the cleanup kills it); its
	// output goes to no pipe, which it would keep open.
	ws := exec.Command("wineserver", "-p")
	ws.Env = append(os.Environ(), p.env...)
	if err := ws.Run(); err != nil {
		t.Fatalf("wineserver -p: %v", err)
	}
	t.Cleanup(func() { _, _ = try(time.Minute, p.env, "wineserver", "-k") })
	return p
}

func (p *prefix) wine(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, 10*time.Minute, p.env, "wine", args...)
}

func (p *prefix) msiexec(t *testing.T, args ...string) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "msiexec.log")
	out, err := try(10*time.Minute, p.env, "wine", append([]string{"msiexec", "/qn", "/l*v", log}, args...)...)
	if err != nil {
		b, _ := os.ReadFile(log)
		t.Fatalf("msiexec %s: %v\n%s\n%s", strings.Join(args, " "), err, out, tail(string(b), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// profile is the user's folder in the prefix.
func (p *prefix) profile(t *testing.T) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(p.dir, "drive_c", "users", "*", "AppData"))
	for _, d := range m {
		if !strings.Contains(d, "Public") {
			return filepath.Dir(d)
		}
	}
	t.Fatalf("no user profile in %s", p.dir)
	return ""
}

func (p *prefix) installDir(t *testing.T) string {
	return filepath.Join(p.profile(t), "AppData", "Local", msi.ProgramsDir, msi.InstallDir)
}

func (p *prefix) read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.installDir(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (p *prefix) shortcut(t *testing.T) string {
	return filepath.Join(p.profile(t), "AppData", "Roaming", "Microsoft", "Windows", "Start Menu", "Programs", "Berth.lnk")
}

// reg is a registry value's line from `reg query`, or "" when there is none.
func (p *prefix) reg(t *testing.T, key, value string) string {
	t.Helper()
	out, err := try(time.Minute, p.env, "wine", "reg", "query", key, "/v", value)
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(strings.ToLower(l), strings.ToLower(value)) && strings.Contains(l, "REG_") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

func (p *prefix) userPath(t *testing.T) string { return p.reg(t, `HKCU\Environment`, "PATH") }

// assertGone checks that an uninstall left none of the package's files,
// shortcut, Run value or PATH entry.
func (p *prefix) assertGone(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(p.installDir(t)); err == nil {
		var left []string
		_ = filepath.Walk(p.installDir(t), func(path string, _ os.FileInfo, _ error) error {
			left = append(left, path)
			return nil
		})
		t.Errorf("the install folder remains: %v", left)
	}
	if _, err := os.Stat(p.shortcut(t)); err == nil {
		t.Error("the Start-menu shortcut remains")
	}
	if v := p.reg(t, `HKCU\`+msi.RunKey, "Berth"); v != "" {
		t.Errorf("the Run value remains: %s", v)
	}
	if v := p.userPath(t); strings.Contains(v, `Berth\bin`) {
		t.Errorf("the PATH entry remains: %s", v)
	}
}
