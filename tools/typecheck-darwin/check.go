package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// listedPackage is what we read from go list -json.
type listedPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Standard   bool
	DepOnly    bool
	Deps       []string
	ImportMap  map[string]string
	Module     *struct {
		Path      string
		Main      bool
		GoVersion string
	}
	Error *struct{ Err string }
}

func (p *listedPackage) main() bool { return p.Module != nil && p.Module.Main }

// check type-checks the packages of patterns (in dir's module) that need
// cgo on darwin/arch.
func check(ctx context.Context, dir, arch string, patterns []string) (report, error) {
	withCgo, err := goList(ctx, dir, arch, true, patterns)
	if err != nil {
		return report{}, err
	}
	withoutCgo, err := goList(ctx, dir, arch, false, patterns)
	if err != nil {
		return report{}, err
	}
	targets := needCgo(withCgo, withoutCgo)
	return typecheck(withCgo, targets, types.SizesFor("gc", arch))
}

// needCgo returns the import paths of the main module's listed (not
// dependency-only) packages that need cgo.
func needCgo(withCgo, withoutCgo []*listedPackage) map[string]bool {
	byPath := make(map[string]*listedPackage, len(withCgo))
	for _, p := range withCgo {
		byPath[p.ImportPath] = p
	}
	noCgoFiles := make(map[string][]string, len(withoutCgo))
	for _, p := range withoutCgo {
		noCgoFiles[p.ImportPath] = p.GoFiles
	}
	targets := map[string]bool{}
	for _, p := range withCgo {
		if !p.main() || p.DepOnly {
			continue
		}
		need := len(p.CgoFiles) > 0 || !slices.Equal(p.GoFiles, noCgoFiles[p.ImportPath])
		for _, d := range p.Deps {
			if dp := byPath[d]; dp != nil && !dp.Standard && len(dp.CgoFiles) > 0 {
				need = true
			}
		}
		if need {
			targets[p.ImportPath] = true
		}
	}
	return targets
}

// typecheck checks targets and, without bodies, everything they depend on,
// in go list's dependency order.
func typecheck(pkgs []*listedPackage, targets map[string]bool, sizes types.Sizes) (report, error) {
	var rep report
	needed := map[string]bool{}
	for _, p := range pkgs {
		if targets[p.ImportPath] {
			needed[p.ImportPath] = true
			for _, d := range p.Deps {
				needed[d] = true
			}
		}
	}
	fset := token.NewFileSet()
	done := map[string]*types.Package{"unsafe": types.Unsafe}
	for _, p := range pkgs {
		if !needed[p.ImportPath] || p.ImportPath == "unsafe" {
			continue
		}
		target := targets[p.ImportPath]
		if target && p.Error != nil {
			rep.errors = append(rep.errors, fmt.Sprintf("%s: %s", p.ImportPath, p.Error.Err))
			continue
		}
		var errs []error
		tp, err := checkPackage(fset, p, done, sizes, !target, func(err error) { errs = append(errs, err) })
		if err != nil {
			return rep, err
		}
		done[p.ImportPath] = tp
		if target {
			rep.targets = append(rep.targets, p.ImportPath)
			for _, e := range errs {
				rep.errors = append(rep.errors, e.Error())
			}
		} else {
			rep.depPkgs++
			rep.depErrors += len(errs)
		}
	}
	slices.Sort(rep.targets)
	return rep, nil
}

// checkPackage parses and type-checks one package; type errors go to
// onError, the returned error is for what stops the whole check.
func checkPackage(fset *token.FileSet, p *listedPackage, done map[string]*types.Package, sizes types.Sizes, skipBodies bool, onError func(error)) (*types.Package, error) {
	var files []*ast.File
	for _, name := range slices.Concat(p.GoFiles, p.CgoFiles) {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution|parser.ParseComments)
		if err != nil {
			onError(err)
			continue
		}
		files = append(files, f)
	}
	conf := types.Config{
		Importer:         importer{done: done, importMap: p.ImportMap},
		FakeImportC:      true,
		IgnoreFuncBodies: skipBodies,
		Sizes:            sizes,
		Error:            onError,
	}
	if p.Module != nil && p.Module.GoVersion != "" {
		conf.GoVersion = "go" + p.Module.GoVersion
	}
	tp, _ := conf.Check(p.ImportPath, fset, files, nil) // errors went to onError
	if tp == nil {
		return nil, fmt.Errorf("%s: type-checker returned no package", p.ImportPath)
	}
	return tp, nil
}

// importer resolves imports to packages already checked, through the
// importing package's ImportMap (vendoring, test variants).
type importer struct {
	done      map[string]*types.Package
	importMap map[string]string
}

func (im importer) Import(path string) (*types.Package, error) {
	if mapped, ok := im.importMap[path]; ok {
		path = mapped
	}
	if p, ok := im.done[path]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("package %s not type-checked (missing from go list -deps?)", path)
}

// goList lists patterns and, with cgo, all their dependencies in
// dependency order, for darwin/arch.
func goList(ctx context.Context, dir, arch string, cgo bool, patterns []string) ([]*listedPackage, error) {
	cgoEnv := "CGO_ENABLED=0"
	args := []string{"list", "-e", "-json=ImportPath,GoFiles"}
	if cgo {
		cgoEnv = "CGO_ENABLED=1"
		args = []string{"list", "-e", "-deps", "-json=ImportPath,Dir,GoFiles,CgoFiles,Standard,DepOnly,Deps,ImportMap,Module,Error"}
	}
	cmd := exec.CommandContext(ctx, "go", append(args, patterns...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH="+arch, cgoEnv)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list (%s): %w\n%s", cgoEnv, err, stderr.String())
	}
	var pkgs []*listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		p := new(listedPackage)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			return pkgs, nil
		} else if err != nil {
			return nil, fmt.Errorf("decoding go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
}
