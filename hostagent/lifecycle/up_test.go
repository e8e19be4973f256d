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
