package fuzzlist

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	fuzzFunc   = regexp.MustCompile(`(?m)^func (Fuzz\w+)\(\w+ \*testing\.F\)`)
	fuzzTarget = regexp.MustCompile(`(\./[\w/.-]+):(Fuzz\w+)`)
)

func TestMakeRunsEveryFuzzTarget(t *testing.T) {
	root := filepath.Join("..", "..")
	var inTree []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "_output" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		for _, m := range fuzzFunc.FindAllSubmatch(b, -1) {
			inTree = append(inTree, "./"+filepath.ToSlash(rel)+":"+string(m[1]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(root, "mk", "fuzz.mk"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range fuzzTarget.FindAllSubmatch(mk, -1) {
		listed = append(listed, string(m[1])+":"+string(m[2]))
	}
	slices.Sort(inTree)
	slices.Sort(listed)
	for _, f := range inTree {
		if !slices.Contains(listed, f) {
			t.Errorf("%s is not in mk/fuzz.mk's FUZZ_TARGETS: make test never fuzzes it", f)
		}
	}
	for _, f := range listed {
		if !slices.Contains(inTree, f) {
			t.Errorf("mk/fuzz.mk names %s, which does not exist", f)
		}
	}
	if len(inTree) == 0 {
		t.Fatal("no fuzz target found: the scan is broken")
	}
	t.Logf("%d fuzz targets", len(inTree))
}
