package store

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"default", "a", "dev-2", "0x"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", "A", "a/b", "..", strings.Repeat("a", 32), "a b"} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("ValidateName(%q) accepted", bad)
		}
	}
}

const testSID = "S-1-5-21-1004336348-1177238915-682003330-1001"

func TestSocketPathPerOS(t *testing.T) {
	dir := filepath.FromSlash("/home/u/.berth/default")
	if got := socketPath("linux", dir, "default", DockerSock, ""); got != filepath.Join(dir, "docker.sock") {
		t.Errorf("linux: %s", got)
	}
	want := `\\.\pipe\berth-default-` + testSID
	if got := socketPath("windows", dir, "default", DockerSock, testSID); got != want {
		t.Errorf("windows docker: %s, want %s", got, want)
	}
	if got := socketPath("windows", dir, "default", AgentSock, testSID); got != want+"-agent" {
		t.Errorf("windows agent: %s, want %s-agent", got, want)
	}
	if got := dockerHost("windows", want); got != "npipe:////./pipe/berth-default-"+testSID {
		t.Errorf("windows docker host: %s", got)
	}
	if got := dockerHost("darwin", "/Users/u/.berth/default/docker.sock"); got != "unix:///Users/u/.berth/default/docker.sock" {
		t.Errorf("darwin docker host: %s", got)
	}
	m := Machine{Name: "dev", Dir: dir, goos: "windows", sid: testSID}
	if m.DockerSocket() != `\\.\pipe\berth-dev-`+testSID || m.AgentSocket() != `\\.\pipe\berth-dev-`+testSID+"-agent" ||
		m.DockerHost() != "npipe:////./pipe/berth-dev-"+testSID {
		t.Errorf("machine dev: %s %s %s", m.DockerSocket(), m.AgentSocket(), m.DockerHost())
	}
	if m.DockerEngineSocket() != `\\.\pipe\docker_engine` {
		t.Errorf("windows DockerEngineSocket = %s", m.DockerEngineSocket())
	}
	m.goos = "linux"
	if m.DockerEngineSocket() != "" {
		t.Errorf("linux DockerEngineSocket = %q, want none", m.DockerEngineSocket())
	}
}

// TestPipeNamesDistinct: no two endpoints of different machines, bases,
// users or state directories share a pipe name, compared as Windows does
// (ignoring case), even for machine names made to look like SIDs.
func TestPipeNamesDistinct(t *testing.T) {
	sids := []string{testSID, "S-1-5-21-1004336348-1177238915-682003330-1002", "S-1-5-18", "S-1-5-21-1-2-3"}
	machines := []string{"default", "dev", "tray", "agent", "s-1-5-21-1-2-3", "x-s-1-5-18", "default-s-1-5-18",
		"tray-0123456789abcdef", "dev-agent", "s-1-5-21-1-2-3-1001-agent"}
	seen := map[string]string{}
	add := func(name, what string) {
		t.Helper()
		k := strings.ToLower(name)
		if prev, ok := seen[k]; ok {
			t.Errorf("%s and %s share the pipe %s", prev, what, name)
		}
		seen[k] = what
		if !strings.HasPrefix(name, `\\.\pipe\berth-`) || len(name) > 256 {
			t.Errorf("%s: bad pipe name %s", what, name)
		}
	}
	for _, sid := range sids {
		for _, m := range machines {
			add(PipeName(m, "docker", sid), "docker of "+m+" for "+sid)
			add(PipeName(m, "agent", sid), "agent of "+m+" for "+sid)
		}
		add(TrayPipe(`C:\Users\a\.berth`, sid), "tray of a for "+sid)
		add(TrayPipe(`C:\Users\b\.berth`, sid), "tray of b for "+sid)
	}
	for _, sid := range sids {
		if !strings.Contains(PipeName("default", "docker", sid), sid) || !strings.Contains(TrayPipe("h", sid), sid) {
			t.Errorf("a name without the SID %s", sid)
		}
	}
	if TrayPipe(`C:\Users\A\.berth\`, testSID) != TrayPipe(`c:\users\a\.berth`, testSID) {
		t.Error("one state directory spelt two ways gets two tray pipes")
	}
	// The longest machine name and SID fit the 256-character limit.
	long := PipeName(strings.Repeat("m", 31), "agent", "S-1-5-21-4294967295-4294967295-4294967295-4294967295")
	if len(long) > 256 {
		t.Errorf("%d characters: %s", len(long), long)
	}
}

func TestTrayEndpoint(t *testing.T) {
	if p, err := TrayEndpoint("linux", "/home/u/.berth"); err != nil || p != filepath.Join("/home/u/.berth", "tray.sock") {
		t.Errorf("linux tray: %s %v", p, err)
	}
}

func TestSocketPathLimit(t *testing.T) {
	long := "/" + strings.Repeat("d", 90)
	m := Machine{Name: "default", Dir: filepath.Join(long, "default"), goos: "darwin"}
	err := m.checkSockets()
	if err == nil || !strings.Contains(err.Error(), "104-byte") && !strings.Contains(err.Error(), "103-byte") {
		t.Fatalf("darwin long path: %v", err)
	}
	if !strings.Contains(err.Error(), EnvHome) {
		t.Errorf("error does not say how to fix it: %v", err)
	}
	m.goos = "windows"
	if err := m.checkSockets(); err != nil {
		t.Errorf("windows uses pipes, no limit: %v", err)
	}
	short := Machine{Name: "default", Dir: "/Users/someone/.berth/default", goos: "darwin"}
	if err := short.checkSockets(); err != nil {
		t.Errorf("default layout must fit: %v", err)
	}
}

func TestHomeOverride(t *testing.T) {
	d := t.TempDir()
	t.Setenv(EnvHome, d)
	h, err := Home()
	if err != nil || h != d {
		t.Fatalf("Home() = %q, %v; want %q", h, err, d)
	}
}

// A machine directory that exists with a wider mode is made private.
func TestEnsureMakesAnExistingDirectoryPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are ACLs on Windows")
	}
	m, err := Open(t.TempDir(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(m.Dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(m.Dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := m.Ensure(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(m.Dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("machine directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
}
