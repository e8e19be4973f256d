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
	// The output goes to a file, not a pipe: Wine's background processes
	// (wineserver, services) inherit it and would hold a pipe open.
	f, err := os.CreateTemp("", "disttest-out-")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name()) //nolint:errcheck
	defer f.Close()           //nolint:errcheck
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, rerr := os.ReadFile(f.Name())
	if err == nil {
		err = rerr
	}
	return string(out), err
}
