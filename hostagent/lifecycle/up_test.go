package lifecycle

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/berth-dev/berth/hostagent"
	"github.com/berth-dev/berth/store"
)

// The CLI and the tray start through Up, so both refuse the same configs
// before anything runs.
func TestCheckConfig(t *testing.T) {
	home := t.TempDir()
	m, err := store.Open(home, "default")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(home, "config.yaml")
	var warn bytes.Buffer
	if err := CheckConfig(m, cfg, &warn); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, err := os.Stat(cfg); err != nil {
		t.Fatalf("no default config written: %v", err)
	}

	// A machine made with 64 GiB: a config asking for 8 GiB would shrink it.
	spec := hostagent.MachineSpec{Arch: runtime.GOARCH, CPUs: 1, MemoryMiB: 1024, DiskGiB: 64}
	if _, _, _, err := hostagent.Prepare(m, spec); err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("disk: 8GiB\n")
	if err := CheckConfig(m, cfg, &warn); err == nil || !strings.Contains(err.Error(), "disk: 8GiB is smaller") {
		t.Errorf("a shrinking disk: %v", err)
	}
	write("disk: 80GiB\nnosuchkey: 1\n")
	if err := CheckConfig(m, cfg, &warn); err != nil {
		t.Errorf("a growing disk: %v", err)
	}
	if !strings.Contains(warn.String(), "nosuchkey") {
		t.Errorf("unknown key not warned about: %q", warn.String())
	}
	write("cpus: 0\n")
	if err := CheckConfig(m, cfg, &warn); err == nil || !strings.Contains(err.Error(), "cpus") {
		t.Errorf("an invalid config: %v", err)
	}
}

// The guest image follows the machine's architecture: the config's arch
// until the machine exists, then the one it was created with; a config
// naming another is refused before anything runs.
func TestImageArch(t *testing.T) {
	home := t.TempDir()
	m, err := store.Open(home, "default")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(home, "config.yaml")
	if got := ImageArch(m, cfg); got != runtime.GOARCH {
		t.Errorf("no config, no machine: %q, want the host's", got)
	}
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	if err := os.WriteFile(cfg, []byte("arch: "+other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := ImageArch(m, cfg); got != other {
		t.Errorf("config arch %s, no machine: %q", other, got)
	}
	if err := CheckConfig(m, cfg, &bytes.Buffer{}); err != nil {
		t.Errorf("arch %s for a new machine: %v", other, err)
	}
	spec := hostagent.MachineSpec{Arch: runtime.GOARCH, CPUs: 1, MemoryMiB: 1024, DiskGiB: 64}
	if _, _, _, err := hostagent.Prepare(m, spec); err != nil {
		t.Fatal(err)
	}
	if got := ImageArch(m, cfg); got != runtime.GOARCH {
		t.Errorf("a %s machine, config arch %s: %q, want the machine's", runtime.GOARCH, other, got)
	}
	err = CheckConfig(m, cfg, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "arch: the machine was created for "+runtime.GOARCH+", not "+other) {
		t.Errorf("another arch for an existing machine: %v", err)
	}
}
