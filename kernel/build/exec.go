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
	return r.runAll(ctx, [][]string{append([]string{name}, args...)})
}

// runAll runs the commands in order, stopping at the first failure. Under
// fakeroot they share one session: starting one costs over a second.
func (r *runner) runAll(ctx context.Context, cmds [][]string) error {
	if r.fakerootState == "" {
		for _, c := range cmds {
			if err := r.exec(ctx, c[0], c[1:]...); err != nil {
				return err
			}
		}
		return nil
	}
	var script strings.Builder
	script.WriteString("set -e\n")
	for _, c := range cmds {
		for i, a := range c {
			if i > 0 {
				script.WriteByte(' ')
			}
			script.WriteString(shellQuote(a))
		}
		script.WriteByte('\n')
	}
	return r.exec(ctx, "fakeroot", "-i", r.fakerootState, "-s", r.fakerootState, "--", "sh", "-c", script.String())
}

// output runs one command like runAll and returns what it wrote to
// standard output.
func (r *runner) output(ctx context.Context, argv []string) ([]byte, error) {
	name, args := argv[0], argv[1:]
	if r.fakerootState != "" {
		quoted := make([]string, len(argv))
		for i, a := range argv {
			quoted[i] = shellQuote(a)
		}
		name, args = "fakeroot", []string{"-i", r.fakerootState, "-s", r.fakerootState, "--", "sh", "-c", strings.Join(quoted, " ")}
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), r.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", argv[0], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (r *runner) exec(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), r.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		what := name + " " + strings.Join(args, " ")
		if len(what) > 200 {
			what = what[:200] + "..."
		}
		return fmt.Errorf("%s: %w: %s", what, err, strings.TrimSpace(out.String()))
	}
	return nil
}
