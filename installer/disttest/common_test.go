package disttest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dist is the folder of the packages and the version they carry.
func dist(t *testing.T) (dir, version string) {
	t.Helper()
	if os.Getenv("BERTH_DIST_TEST") != "1" {
		t.Skip("installs the built packages: run with `make test-dist` (BERTH_DIST_TEST=1)")
	}
	dir, version = os.Getenv("BERTH_DIST_DIR"), os.Getenv("BERTH_VERSION")
	if dir == "" || version == "" {
		t.Fatal("BERTH_DIST_DIR and BERTH_VERSION must name the packages' folder and their version")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs, version
}

// run runs a command, failing the test if it fails; env is added to the
// test's environment.
func run(t *testing.T, timeout time.Duration, env []string, name string, args ...string) string {
	t.Helper()
	out, err := try(timeout, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func try(timeout time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}
