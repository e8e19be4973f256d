// Command winetest runs the Windows tests of this module under Wine.
//
// It cross-compiles the test binary of every package whose file set differs
// between GOOS=windows and GOOS=linux (that is, every package with
// Windows-specific code), creates a fresh Wine prefix, installs the
// ProcessPrng shim that Go 1.24+ binaries need and Wine 8 lacks (built with
// mingw from hack/wine), runs each binary with -test.v in its package's
// directory (as go test does, so testdata/ is found) and fails if any
// fails or does not report a result. Skipped tests are listed with their
// reasons at the end.
//
// Usage: go run ./tools/winetest [-run regexp] [-timeout 5m] [-keep] [packages]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.run, "run", "", "run only tests matching `regexp` (-test.run)")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "time limit of each test binary")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory and Wine prefix")
	flag.StringVar(&o.shimSrc, "shim", "", "directory with the ProcessPrng shim's source (default: hack/wine of this module)")
	flag.StringVar(&o.wine, "wine", "wine", "the Wine loader")
	flag.Parse()
	o.patterns = flag.Args()
	if len(o.patterns) == 0 {
		o.patterns = []string{"./..."}
	}
	o.stdout = os.Stdout
	ctx := context.Background()
	if o.shimSrc == "" {
		root, err := moduleRoot(ctx, ".")
		if err != nil {
			fail(err)
		}
		o.shimSrc = root + "/hack/wine"
	}
	if err := run(ctx, o); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "winetest:", err)
	os.Exit(1)
}

type options struct {
	dir      string // where the packages' module is; "" is the current directory
	patterns []string
	run      string
	timeout  time.Duration
	keep     bool
	shimSrc  string
	wine     string
	stdout   io.Writer
}

// run does the whole job; its error says which packages failed.
func run(ctx context.Context, o options) error {
	pkgs, err := windowsPackages(ctx, o.dir, o.patterns)
	if err != nil {
		return err
	}
	if len(pkgs) == 0 {
		return errors.New("no package with Windows-specific tests matched")
	}
	work, err := os.MkdirTemp("", "winetest-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(o.stdout, "work directory:", work)
	} else {
		defer os.RemoveAll(work) //nolint:errcheck
	}
	start := time.Now()
	bins, err := buildTests(ctx, o.dir, work, pkgs)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.stdout, "built %d test binaries in %.1fs\n", len(bins), time.Since(start).Seconds())
	start = time.Now()
	w, err := newPrefix(ctx, o.wine, work, o.shimSrc)
	if err != nil {
		return err
	}
	defer w.close()
	fmt.Fprintf(o.stdout, "fresh Wine prefix with the ProcessPrng shim in %.1fs\n", time.Since(start).Seconds())
	return runAll(ctx, w, bins, o)
}

// runAll runs every binary, prints its output and a summary of skips.
func runAll(ctx context.Context, w *prefix, bins []testBinary, o options) error {
	var failed []string
	var skips []string
	for _, b := range bins {
		args := []string{"-test.v", "-test.count=1", "-test.timeout=" + o.timeout.String()}
		if o.run != "" {
			args = append(args, "-test.run="+o.run)
		}
		start := time.Now()
		out, err := w.run(ctx, b.exe, b.dir, args, o.timeout+time.Minute)
		fmt.Fprintf(o.stdout, "=== %s (%.1fs)\n%s", b.pkg, time.Since(start).Seconds(), out)
		r := judge(out, err)
		if !r.ok {
			failed = append(failed, fmt.Sprintf("%s: %s", b.pkg, r.why))
		}
		for _, s := range r.skips {
			skips = append(skips, b.pkg+": "+s)
		}
	}
	if len(skips) > 0 {
		fmt.Fprintf(o.stdout, "skipped under Wine (%d):\n  %s\n", len(skips), strings.Join(skips, "\n  "))
	}
	if len(failed) > 0 {
		return fmt.Errorf("tests failed under Wine:\n  %s", strings.Join(failed, "\n  "))
	}
	fmt.Fprintf(o.stdout, "ok: %d packages passed under Wine\n", len(bins))
	return nil
}

// goCmd runs the go command in dir with extra environment.
func goCmd(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

func moduleRoot(ctx context.Context, dir string) (string, error) {
	out, err := goCmd(ctx, dir, nil, "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
