package store

import (
	"path/filepath"
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

func TestSocketPathPerOS(t *testing.T) {
	dir := filepath.FromSlash("/home/u/.berth/default")
	if got := socketPath("linux", dir, "default", DockerSock); got != filepath.Join(dir, "docker.sock") {
		t.Errorf("linux: %s", got)
	}
	if got := socketPath("windows", dir, "default", DockerSock); got != `\\.\pipe\berth-default-docker` {
		t.Errorf("windows: %s", got)
	}
	if got := dockerHost("windows", `\\.\pipe\berth-default-docker`); got != "npipe:////./pipe/berth-default-docker" {
		t.Errorf("windows docker host: %s", got)
	}
	if got := dockerHost("darwin", "/Users/u/.berth/default/docker.sock"); got != "unix:///Users/u/.berth/default/docker.sock" {
		t.Errorf("darwin docker host: %s", got)
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
