package depscheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestRepository is the check itself: every command the repository's tests
// and make targets run comes from a list their target installs, or from
// the base system.
func TestRepository(t *testing.T) {
	problems, err := Check("../..", "testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	uses, err := scanTree("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmds := map[string]bool{}
	for _, u := range uses {
		cmds[u.Cmd] = true
	}
	t.Logf("%d exec calls in Go files name %d commands: %s", len(uses), len(cmds), strings.Join(sortedKeys(cmds), " "))
}

// TestFixture proves the check fails: the fixture's test runs a command
// whose package no list of its target names, its make target runs an
// unmapped command, and a list names a target that does not install it.
func TestFixture(t *testing.T) {
	problems, err := Check("testdata/fixture", "testdata/fixture/depscheck")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`frob/frob_test.go:10:6: runs "frobnicate" (package frob-tools), but make test-frob installs only the lists [base]: add the package to one of them, or a deps-LIST prerequisite`,
		`frob/frob_test.go:11:9: runs "unmapped", which commands.txt does not map to a package`,
		`hack/deps-frob.txt: used by make test-frob, but that target does not install it (no deps-frob prerequisite)`,
		`make test-frob: runs "grault", which commands.txt does not map to a package`,
		`other/other.go:8:12: runs "frobnicate", but targets.txt does not say which make target runs other/other.go`,
	}
	if !reflect.DeepEqual(problems, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
}

func TestRecipeCommands(t *testing.T) {
	for line, want := range map[string][]string{
		`@./hack/deps.sh $(@:deps-%=%)`:                           nil,
		`BERTH_WINE_TESTS=1 $(GO) test -count=1 ./tools/winetest`: {"go"},
		`$(BIN)/berth start`:                                      nil,
		`@mkdir -p $(TOOLS_BIN)`:                                  {"mkdir"},
		`@out=$$(find . -name '*.go' -not -path './x/*' | xargs gofmt -l); if [ -n "$$out" ]; then echo "gofmt needed:"; exit 1; fi`:     {"find", "xargs", "gofmt"},
		`@rc=0; for p in $(CHECK_PLATFORMS); do echo "go vet $$p"; GOOS=$${p%/*} CGO_ENABLED=0 $(GO) vet ./... || rc=1; done; exit $$rc`: {"go"},
		`rm -rf $(OUT)`: {"rm"},
	} {
		if got := RecipeCommands(line); !reflect.DeepEqual(got, want) {
			t.Errorf("RecipeCommands(%q) = %q, want %q", line, got, want)
		}
	}
}

// TestListsOf reads the targets' lists from the real Makefile.
func TestListsOf(t *testing.T) {
	lists, err := ReadLists("../..")
	if err != nil {
		t.Fatal(err)
	}
	inc, _ := filepath.Glob("../../mk/*.mk")
	mk, err := ParseMakefile(append([]string{"../../Makefile"}, inc...)...)
	if err != nil {
		t.Fatal(err)
	}
	mk.lists = map[string]bool{}
	for n := range lists {
		mk.lists[n] = true
	}
	for target, want := range map[string][2][]string{
		"test-windows": {{"windows"}, nil},
		"run":          {{"image", "run"}, {"docker"}},
		"test-e2e":     {{"dashboard", "docker", "e2e", "image", "run", "tray"}, nil},
	} {
		req, opt := mk.ListsOf(target)
		if !reflect.DeepEqual(req, want[0]) || !reflect.DeepEqual(opt, want[1]) {
			t.Errorf("make %s installs %q, and %q if it can; want %q and %q", target, req, opt, want[0], want[1])
		}
	}
}

// TestCommandsTable checks commands.txt against dpkg for the commands this
// machine has: the package that owns the file must be one the table names.
func TestCommandsTable(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("no dpkg-query: the table cannot be checked against the package database")
	}
	rows, err := readTable("testdata/commands.txt")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	want := map[string][]string{} // path → packages
	for _, r := range rows {
		pkgs := alternatives(strings.Join(r[1:], " "))
		if pkgs[0] == "@go" || pkgs[0] == "@macos" {
			continue
		}
		p, err := exec.LookPath(r[0])
		if err != nil {
			continue
		}
		for _, c := range fileNames(p) {
			paths = append(paths, c)
			want[c] = pkgs
		}
	}
	owner := dpkgOwners(paths)
	checked := 0
	for _, r := range rows {
		p, err := exec.LookPath(r[0])
		if err != nil || want[p] == nil {
			continue
		}
		var own string
		for _, c := range fileNames(p) {
			if own = owner[c]; own != "" {
				break
			}
		}
		if own == "" {
			t.Logf("%s: %s belongs to no package (installed by hand)", r[0], p)
			continue
		}
		checked++
		if !contains(want[p], own) {
			t.Errorf("commands.txt: %s is in package %s (dpkg -S %s), not %s", r[0], own, p, strings.Join(want[p], " | "))
		}
	}
	t.Logf("%d of %d commands checked against dpkg", checked, len(rows))
}

// fileNames returns the names the file may have in dpkg's database: as
// found, resolved, and with or without /usr (a merged /usr: dpkg records
// /bin/sh, PATH may give /usr/bin/sh).
func fileNames(p string) []string {
	cands := []string{p}
	if r, err := filepath.EvalSymlinks(p); err == nil && r != p {
		cands = append(cands, r)
	}
	for _, c := range append([]string(nil), cands...) {
		if s, ok := strings.CutPrefix(c, "/usr"); ok {
			cands = append(cands, s)
		} else {
			cands = append(cands, "/usr"+c)
		}
	}
	var out []string
	for _, c := range cands {
		if _, err := os.Lstat(c); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// dpkgOwners asks dpkg once which package owns each file.
func dpkgOwners(paths []string) map[string]string {
	owner := map[string]string{}
	if len(paths) == 0 {
		return owner
	}
	out, _ := exec.Command("dpkg-query", append([]string{"-S"}, paths...)...).Output() // fails when one is not owned
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "diversion by") {
			continue
		}
		pkg, file, ok := strings.Cut(line, ": ")
		if ok && !strings.Contains(pkg, ",") {
			pkg, _, _ = strings.Cut(pkg, ":") // pkg:arch
			owner[strings.TrimSpace(file)] = pkg
		}
	}
	return owner
}
