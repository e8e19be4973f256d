package wsl2

import (
	"context"
	"strings"
	"testing"

	"github.com/berth-dev/berth/vm"
)

// The bundle gets wsl.exe's own words on its versions and status, from
// the stand-in wsl.exe with the recorded outputs; a call that fails says
// so in its text instead of vanishing.
func TestReport(t *testing.T) {
	c, _ := newScene(t, reply("version", 0, "--version"), reply("not-installed", 1, "--status"))
	d, _, _ := newTestDriver(t, c)
	got := vm.Report(context.Background(), d)
	if v := got["wsl-version.txt"]; !strings.Contains(v, "WSL") || strings.Contains(v, "error") {
		t.Errorf("wsl-version.txt = %q, want wsl --version's output", v)
	}
	if s := got["wsl-status.txt"]; !strings.Contains(s, "error:") {
		t.Errorf("wsl-status.txt = %q, want the failure said", s)
	}
}
