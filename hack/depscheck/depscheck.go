// Package depscheck checks that every external command Berth's tests and
// make targets run comes from a host package that their target installs
// (a list hack/deps-LIST.txt that the target has as prerequisite
// deps-LIST), or from the base system of a fresh Debian/Ubuntu machine.
//
// What it scans: the string literals (and string constants) naming the
// program in exec.Command, exec.CommandContext and exec.LookPath calls of
// every Go file outside testdata (tests and the code they drive), and the
// first word of every command in the recipes of Makefile and mk/*.mk. A
// name computed at run time is invisible to the scan: extra.txt names
// those. Its data, in the directory given to Check:
//
//	commands.txt  command → the package that provides it ("a | b": any)
//	base.txt      packages a fresh machine has (and "@go", the Go toolchain)
//	targets.txt   which make targets run the code under a path
//	extra.txt     uses the scan cannot see (computed names, go test -race)
package depscheck

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Use is one external command that a file or a make target runs.
type Use struct {
	Cmd   string
	Where string // "path/file.go:12" or "make <target>"
	Path  string // the file, relative to the root ("" for a recipe)
	Make  string // the target, for a recipe
}

// ScanGo returns the commands named by string literals or string constants
// of the file's package in exec.Command, exec.CommandContext and
// exec.LookPath calls. consts holds the package's string constants.
func ScanGo(fset *token.FileSet, f *ast.File, consts map[string]string) []Use {
	execName := ""
	for _, im := range f.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == "os/exec" {
			execName = "exec"
			if im.Name != nil {
				execName = im.Name.Name
			}
		}
	}
	if execName == "" {
		return nil
	}
	var uses []Use
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); !ok || id.Name != execName {
			return true
		}
		arg := -1
		switch sel.Sel.Name {
		case "Command", "LookPath":
			arg = 0
		case "CommandContext":
			arg = 1
		}
		if arg < 0 || len(call.Args) <= arg {
			return true
		}
		name := ""
		switch a := call.Args[arg].(type) {
		case *ast.BasicLit:
			if a.Kind == token.STRING {
				name, _ = strconv.Unquote(a.Value)
			}
		case *ast.Ident:
			name = consts[a.Name]
		}
		if name != "" {
			uses = append(uses, Use{Cmd: name, Where: fset.Position(call.Pos()).String()})
		}
		return true
	})
	return uses
}

// stringConsts returns the package-level string constants of the files.
func stringConsts(files []*ast.File) map[string]string {
	m := map[string]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							m[n.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
	}
	return m
}

// scanTree scans every Go file under root, skipping testdata, .git,
// .cache and _output.
func scanTree(root string) ([]Use, error) {
	dirs := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "testdata", ".git", ".cache", "_output":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") {
			dirs[filepath.Dir(p)] = append(dirs[filepath.Dir(p)], p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var uses []Use
	fset := token.NewFileSet()
	for _, files := range dirs {
		var parsed []*ast.File
		for _, p := range files {
			f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
			if err != nil {
				return nil, err
			}
			parsed = append(parsed, f)
		}
		consts := stringConsts(parsed)
		for i, f := range parsed {
			rel, _ := filepath.Rel(root, files[i])
			for _, u := range ScanGo(fset, f, consts) {
				u.Path = filepath.ToSlash(rel)
				u.Where = strings.Replace(u.Where, files[i], u.Path, 1)
				uses = append(uses, u)
			}
		}
	}
	sort.Slice(uses, func(i, j int) bool { return uses[i].Where < uses[j].Where })
	return uses, nil
}

// Makefile holds the rules of a Makefile and its includes, variables not
// expanded except $(GO).
type Makefile struct {
	Prereqs map[string][]string
	Recipes map[string][]string // one entry per logical recipe line
	lists   map[string]bool     // the lists hack/deps-LIST.txt that exist
}

var (
	ruleRE   = regexp.MustCompile(`^([^:=#\t][^:=#]*):([^=].*)?$`)
	assignRE = regexp.MustCompile(`^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(:=|\?=|\+=|=)(.*)$`)
)

// ParseMakefile reads the rules of the files, in order.
func ParseMakefile(files ...string) (*Makefile, error) {
	m := &Makefile{Prereqs: map[string][]string{}, Recipes: map[string][]string{}}
	vars := map[string]string{}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var cur []string
		lines := strings.Split(strings.ReplaceAll(string(b), "\\\n", " "), "\n")
		for _, line := range lines {
			if strings.HasPrefix(line, "\t") {
				for _, t := range cur {
					m.Recipes[t] = append(m.Recipes[t], strings.TrimSpace(line))
				}
				continue
			}
			if a := assignRE.FindStringSubmatch(line); a != nil {
				if a[2] == ":=" {
					vars[a[1]] = strings.TrimSpace(a[3])
				}
				cur = nil
				continue
			}
			if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
				continue
			}
			mm := ruleRE.FindStringSubmatch(line)
			if mm == nil {
				cur = nil
				continue
			}
			cur = nil
			for _, t := range strings.Fields(expandVars(mm[1], vars)) {
				if strings.HasPrefix(t, ".") {
					continue // .PHONY and the like
				}
				cur = append(cur, t)
				m.Prereqs[t] = append(m.Prereqs[t], strings.Fields(expandVars(strings.SplitN(mm[2], ";", 2)[0], vars))...)
			}
		}
	}
	return m, nil
}

// expandVars expands $(VAR) references to := variables, and the two
// functions the Makefile uses for its deps targets.
func expandVars(s string, vars map[string]string) string {
	for i := 0; i < 5 && strings.Contains(s, "$("); i++ {
		s = regexp.MustCompile(`\$\(([A-Za-z_]+)\)`).ReplaceAllStringFunc(s, func(r string) string {
			if v, ok := vars[r[2:len(r)-1]]; ok {
				return v
			}
			return r
		})
	}
	return s
}

// ListsOf returns the package lists that target installs before it runs:
// those of its deps-LIST prerequisites and of `hack/deps.sh LIST...` lines
// in its recipe, transitively. Lists after --optional are in optional.
func (m *Makefile) ListsOf(target string) (required, optional []string) {
	seen := map[string]bool{}
	got := map[string]bool{}
	opt := map[string]bool{}
	var walk func(t string)
	walk = func(t string) {
		if seen[t] {
			return
		}
		seen[t] = true
		if l, ok := strings.CutPrefix(t, "deps-"); ok && m.lists[l] {
			got[l] = true
		}
		for _, line := range m.Recipes[t] {
			if _, after, ok := strings.Cut(line, "hack/deps.sh"); ok {
				into := got
				for _, w := range strings.Fields(after) {
					if w == "--optional" {
						into = opt
					}
					if m.lists[w] {
						into[w] = true
					}
				}
			}
		}
		for _, p := range m.Prereqs[t] {
			walk(p)
		}
	}
	walk(target)
	for l := range opt {
		if got[l] {
			delete(opt, l)
		}
	}
	return sortedKeys(got), sortedKeys(opt)
}

var shellSkip = map[string]bool{
	"for": true, "in": true, "do": true, "done": true, "if": true, "then": true, "else": true, "elif": true,
	"fi": true, "while": true, "exit": true, "echo": true, "cd": true, "set": true, "export": true,
	"test": true, "[": true, "true": true, "false": true, "read": true, "printf": true, "!": true,
}

var makeVarRE = regexp.MustCompile(`\$\([^()]*\)|\$[@*<^]`)

// RecipeCommands returns the programs a recipe line runs: the first word of
// each simple command, after assignments and shell keywords, and the
// command xargs runs. $(GO) is go; other make variables, and paths (the
// repository's scripts, built binaries), are not external commands.
func RecipeCommands(line string) []string {
	line = strings.TrimLeft(line, "@-+ ")
	line = strings.ReplaceAll(line, "$$", "\x00") // the shell's $, not make's
	line = strings.ReplaceAll(line, "$(GO)", "go")
	for prev := ""; prev != line; {
		prev, line = line, makeVarRE.ReplaceAllString(line, "MAKEVAR/")
	}
	line = strings.ReplaceAll(line, "\x00", "$")
	line = regexp.MustCompile(`'[^']*'|"[^"]*"`).ReplaceAllString(line, "STR")
	var out []string
	for _, seg := range regexp.MustCompile(`\$\(|&&|\|\||[;|()`+"`"+`]`).Split(line, -1) {
		words := strings.Fields(seg)
		for len(words) > 0 {
			w := words[0]
			switch {
			case shellSkip[w] && w != "for" && w != "in":
				if w == "echo" || w == "exit" || w == "cd" || w == "printf" || w == "test" || w == "[" || w == "read" || w == "set" || w == "export" {
					words = nil
				} else {
					words = words[1:]
				}
				continue
			case w == "for" || w == "in":
				words = nil
				continue
			case strings.Contains(w, "=") && !strings.HasPrefix(w, "="):
				words = words[1:]
				continue
			}
			break
		}
		if len(words) == 0 {
			continue
		}
		w := words[0]
		if strings.HasPrefix(w, "$") || strings.Contains(w, "/") || w == "STR" {
			continue
		}
		out = append(out, w)
		if w == "xargs" {
			for _, a := range words[1:] {
				if !strings.HasPrefix(a, "-") {
					if !strings.HasPrefix(a, "$") && !strings.Contains(a, "/") {
						out = append(out, a)
					}
					break
				}
			}
		}
	}
	return out
}

// readTable reads "key value..." lines; # starts a comment.
func readTable(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if w := strings.Fields(line); len(w) > 0 {
			rows = append(rows, w)
		}
	}
	return rows, sc.Err()
}

// alternatives splits "a | b|c" into its package names.
func alternatives(s string) []string {
	var out []string
	for _, a := range strings.Split(s, "|") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// List is one hack/deps-LIST.txt.
type List struct {
	Name     string
	UsedBy   []string        // targets of its "# used by:" line
	Packages map[string]bool // every package, alternatives included
}

var usedByRE = regexp.MustCompile(`make ([A-Za-z0-9_-]+)`)

// ReadLists reads every hack/deps-*.txt under root.
func ReadLists(root string) (map[string]*List, error) {
	files, err := filepath.Glob(filepath.Join(root, "hack", "deps-*.txt"))
	if err != nil {
		return nil, err
	}
	lists := map[string]*List{}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "deps-"), ".txt")
		l := &List{Name: name, Packages: map[string]bool{}}
		for _, line := range strings.Split(string(b), "\n") {
			if c, ok := strings.CutPrefix(strings.TrimSpace(line), "#"); ok {
				if _, after, ok := strings.Cut(c, "used by:"); ok {
					for _, m := range usedByRE.FindAllStringSubmatch(after, -1) {
						l.UsedBy = append(l.UsedBy, m[1])
					}
				}
				continue
			}
			line, _, _ = strings.Cut(line, "#")
			for _, a := range alternatives(line) {
				l.Packages[a] = true
			}
		}
		lists[name] = l
	}
	return lists, nil
}

// Check returns every problem found in the repository at root, with the
// data of the directory data (see the package comment).
func Check(root, data string) ([]string, error) {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	lists, err := ReadLists(root)
	if err != nil {
		return nil, err
	}
	mkFiles := []string{filepath.Join(root, "Makefile")}
	inc, _ := filepath.Glob(filepath.Join(root, "mk", "*.mk"))
	mk, err := ParseMakefile(append(mkFiles, inc...)...)
	if err != nil {
		return nil, err
	}
	mk.lists = map[string]bool{}
	for n := range lists {
		mk.lists[n] = true
	}

	commands := map[string][]string{}
	rows, err := readTable(filepath.Join(data, "commands.txt"))
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		commands[r[0]] = alternatives(strings.Join(r[1:], " "))
	}
	base := map[string]bool{}
	rows, err = readTable(filepath.Join(data, "base.txt"))
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		for _, p := range r {
			base[p] = true
		}
	}
	targets, err := readTable(filepath.Join(data, "targets.txt")) // path prefix, targets...
	if err != nil {
		return nil, err
	}
	targetsOf := func(path string) ([]string, bool) {
		best := -1
		for i, r := range targets {
			if strings.HasPrefix(path, r[0]) && (best < 0 || len(r[0]) > len(targets[best][0])) {
				best = i
			}
		}
		if best < 0 {
			return nil, false
		}
		return targets[best][1:], true
	}

	// Every list names the targets that use it, and they do install it.
	for _, n := range sortedKeys(lists) {
		l := lists[n]
		if len(l.UsedBy) == 0 {
			bad("hack/deps-%s.txt: no \"# used by: make TARGET\" line", n)
		}
		for _, t := range l.UsedBy {
			if _, ok := mk.Prereqs[t]; !ok {
				bad("hack/deps-%s.txt: used by make %s, which the Makefile does not have", n, t)
			} else if req, opt := mk.ListsOf(t); !contains(req, n) && !contains(opt, n) {
				bad("hack/deps-%s.txt: used by make %s, but that target does not install it (no deps-%s prerequisite)", n, t, n)
			}
		}
	}
	for _, r := range targets {
		for _, t := range r[1:] {
			t = strings.TrimSuffix(t, "?")
			if _, ok := mk.Prereqs[t]; !ok && t != "-" {
				bad("targets.txt: %s: make %s does not exist", r[0], t)
			}
		}
	}

	uses, err := scanTree(root)
	if err != nil {
		return nil, err
	}
	for _, t := range sortedKeys(mk.Recipes) {
		for _, line := range mk.Recipes[t] {
			for _, c := range RecipeCommands(line) {
				uses = append(uses, Use{Cmd: c, Where: "make " + t, Make: t})
			}
		}
	}
	rows, err = readTable(filepath.Join(data, "extra.txt"))
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if len(r) != 2 {
			bad("extra.txt: want \"PATH|make:TARGET COMMAND\", got %q", strings.Join(r, " "))
			continue
		}
		u := Use{Cmd: r[1], Where: r[0] + " (extra.txt)"}
		if t, ok := strings.CutPrefix(r[0], "make:"); ok {
			u.Make = t
		} else {
			u.Path = r[0]
		}
		uses = append(uses, u)
	}

	for _, u := range uses {
		pkgs, known := commands[u.Cmd]
		if !known {
			bad("%s: runs %q, which commands.txt does not map to a package", u.Where, u.Cmd)
			continue
		}
		var ts []string
		if u.Make != "" {
			ts = []string{u.Make}
		} else {
			var ok bool
			if ts, ok = targetsOf(u.Path); !ok {
				bad("%s: runs %q, but targets.txt does not say which make target runs %s", u.Where, u.Cmd, u.Path)
				continue
			}
		}
		if anyIn(pkgs, base) {
			continue
		}
		for _, t := range ts {
			if t == "-" || strings.HasSuffix(t, "?") {
				continue // run by no target, or optional there
			}
			have, _ := mk.ListsOf(t)
			ok := false
			for _, l := range have {
				if anyIn(pkgs, lists[l].Packages) {
					ok = true
				}
			}
			if !ok {
				bad("%s: runs %q (package %s), but make %s installs only the lists [%s]: add the package to one of them, or a deps-LIST prerequisite",
					u.Where, u.Cmd, strings.Join(pkgs, " | "), t, strings.Join(have, " "))
			}
		}
	}
	sort.Strings(problems)
	return dedup(problems), nil
}

func anyIn(pkgs []string, set map[string]bool) bool {
	for _, p := range pkgs {
		if set[p] {
			return true
		}
	}
	return false
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func dedup(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}
