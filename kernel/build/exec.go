package build

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// runner runs the host tools that touch the root tree. When the builder is
// not root, each command runs under fakeroot with one saved state file, so
// the ownership and modes dpkg-deb records (root, setuid bits) carry through
// to mkfs.ext4. Files the builder creates itself are unknown to fakeroot and
// so appear root-owned too. Deletions in the tree must go through the runner,
// or fakeroot's state would keep entries for freed inode numbers.
type runner struct {
	fakerootState string // empty: run commands directly
	env           []string
}

func newRunner(stateFile string, env []string) (*runner, error) {
	r := &runner{env: env}
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("fakeroot"); err != nil {
			return nil, fmt.Errorf("not running as root and fakeroot is not installed: %w", err)
		}
		if err := os.WriteFile(stateFile, nil, 0o644); err != nil {
			return nil, err
		}
		r.fakerootState = stateFile
	}
	return r, nil
}

func (r *runner) run(ctx context.Context, name string, args ...string) error {
	if r.fakerootState != "" {
		args = append([]string{"-i", r.fakerootState, "-s", r.fakerootState, "--", name}, args...)
		name = "fakeroot"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), r.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}
