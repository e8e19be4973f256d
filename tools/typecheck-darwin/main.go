// Command typecheck-darwin type-checks, on any OS, the macOS packages of
// this module that need cgo (Virtualization.framework through vz, the
// tray's AppKit side), which cannot be built or vetted without Apple's
// toolchain.
//
// For each darwin architecture it lists the packages with
// `GOOS=darwin CGO_ENABLED=1 go list -e -json -deps` (no C compiler needed),
// picks the module's packages that need cgo (cgo files of their own, files
// only built with cgo, or a non-standard dependency with cgo files) and
// type-checks them from source with go/types, treating `import "C"` as
// opaque (FakeImportC). Their dependencies are checked too, without
// function bodies, only to give them types: errors there are counted and
// ignored, since go/types cannot see what cgo would generate for them.
// Errors in the module's own packages fail the check.
//
// What it cannot prove: that C code compiles or links, that C.* names
// exist or are used with the right types, or anything at run time.
//
// -require names packages that must be among those checked, so that one
// that stops needing cgo (a lost build tag) cannot silently leave the check.
//
// Usage: go run ./tools/typecheck-darwin [-arch arm64,amd64] [-require pkg,...] [packages]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

func main() {
	arches := flag.String("arch", "arm64,amd64", "comma-separated darwin architectures")
	require := flag.String("require", "", "comma-separated import paths that must be type-checked")
	flag.Parse()
	patterns := flag.Args()
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	ctx := context.Background()
	failed := false
	for _, arch := range strings.Split(*arches, ",") {
		rep, err := check(ctx, "", arch, patterns)
		if err != nil {
			fmt.Fprintf(os.Stderr, "typecheck-darwin: darwin/%s: %v\n", arch, err)
			os.Exit(2)
		}
		rep.print(os.Stdout, arch)
		failed = failed || len(rep.errors) > 0
		if miss := missing(rep.targets, *require); len(miss) > 0 {
			fmt.Printf("darwin/%s: FAIL: not type-checked (no longer need cgo?): %s\n", arch, strings.Join(miss, ", "))
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// missing returns the packages of the comma-separated list required that
// are not among targets.
func missing(targets []string, required string) []string {
	var miss []string
	for _, p := range strings.Split(required, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(targets, p) {
			miss = append(miss, p)
		}
	}
	return miss
}

// report is the outcome for one architecture.
type report struct {
	targets   []string // the module's packages that were type-checked
	errors    []string // type errors in them
	depErrors int      // type errors in dependencies, ignored
	depPkgs   int      // dependencies checked without bodies
}

func (r report) print(w io.Writer, arch string) {
	if len(r.targets) == 0 {
		fmt.Fprintf(w, "darwin/%s: no package needs cgo; nothing to type-check\n", arch)
		return
	}
	for _, e := range r.errors {
		fmt.Fprintln(w, e)
	}
	status := "ok"
	if len(r.errors) > 0 {
		status = fmt.Sprintf("FAIL (%d errors)", len(r.errors))
	}
	fmt.Fprintf(w, "darwin/%s: %s: %d packages (%s); %d dependencies typed, %d errors in them ignored\n",
		arch, status, len(r.targets), strings.Join(r.targets, ", "), r.depPkgs, r.depErrors)
}
