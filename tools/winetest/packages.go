package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// listedPackage is what we read from go list -json.
type listedPackage struct {
	ImportPath   string
	Dir          string
	GoFiles      []string
	TestGoFiles  []string
	XTestGoFiles []string
	Error        *struct{ Err string }
}

func (p listedPackage) files() []string {
	f := slices.Concat(p.GoFiles, p.TestGoFiles, p.XTestGoFiles)
	slices.Sort(f)
	return f
}

func (p listedPackage) hasTests() bool {
	return len(p.TestGoFiles)+len(p.XTestGoFiles) > 0
}

// windowsPackage is a package to test under Wine: its import path and
// its directory, where its test binary runs (as go test runs it, so that
// testdata/ is found).
type windowsPackage struct {
	path, dir string
}

// windowsPackages lists the packages matching patterns whose files differ
// between windows and linux and that have tests on Windows.
func windowsPackages(ctx context.Context, dir string, patterns []string) ([]windowsPackage, error) {
	win, err := goList(ctx, dir, "windows", patterns)
	if err != nil {
		return nil, err
	}
	linux, err := goList(ctx, dir, "linux", patterns)
	if err != nil {
		return nil, err
	}
	dirs := make(map[string]string, len(win))
	for _, p := range win {
		dirs[p.ImportPath] = p.Dir
	}
	var out []windowsPackage
	for _, path := range pickWindows(win, linux) {
		out = append(out, windowsPackage{path: path, dir: dirs[path]})
	}
	return out, nil
}

// pickWindows returns the import paths of the packages in win that have
// tests and whose file set is not the same as in linux.
func pickWindows(win, linux []listedPackage) []string {
	other := make(map[string][]string, len(linux))
	for _, p := range linux {
		other[p.ImportPath] = p.files()
	}
	var out []string
	for _, p := range win {
		lf, ok := other[p.ImportPath]
		if p.hasTests() && (!ok || !slices.Equal(p.files(), lf)) {
			out = append(out, p.ImportPath)
		}
	}
	return out
}

func goList(ctx context.Context, dir, goos string, patterns []string) ([]listedPackage, error) {
	args := append([]string{"list", "-e", "-json=ImportPath,Dir,GoFiles,TestGoFiles,XTestGoFiles,Error"}, patterns...)
	cmd := goCmd(ctx, dir, []string{"GOOS=" + goos, "GOARCH=amd64", "CGO_ENABLED=0"}, args...)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list for %s: %w%s", goos, err, stderrOf(err))
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decoding go list output: %w", err)
		}
		// Packages that exclude all files on one OS are listed with an error
		// and no files: that is expected, not a failure.
		if p.Error != nil && !strings.Contains(p.Error.Err, "build constraints exclude all Go files") {
			return nil, fmt.Errorf("go list for %s: %s: %s", goos, p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

type testBinary struct {
	pkg string
	dir string // the package's directory, the binary's working directory
	exe string
}

// buildTests cross-compiles one test binary per package into work.
// They are built with the standard-library overlay of overlay.go.
func buildTests(ctx context.Context, dir, work string, pkgs []windowsPackage) ([]testBinary, error) {
	overlay, err := writeOverlay(ctx, work)
	if err != nil {
		return nil, err
	}
	var bins []testBinary
	env := []string{"GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0"}
	for _, pkg := range pkgs {
		exe := filepath.Join(work, strings.NewReplacer("/", "_", ".", "_").Replace(pkg.path)+".test.exe")
		out, err := goCmd(ctx, dir, env, "test", "-c", "-overlay", overlay, "-o", exe, pkg.path).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("building the Windows tests of %s: %w\n%s", pkg.path, err, out)
		}
		bins = append(bins, testBinary{pkg: pkg.path, dir: pkg.dir, exe: exe})
	}
	return bins, nil
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return "\n" + string(ee.Stderr)
	}
	return ""
}
