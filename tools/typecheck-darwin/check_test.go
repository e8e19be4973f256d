package main

import (
	"context"
	"slices"
	"strings"
	"testing"
)

const fixture = "testdata/fixture"

func TestFixtureGoodPasses(t *testing.T) {
	rep, err := check(context.Background(), fixture, "arm64", []string{"./good", "./uses"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.errors) > 0 {
		t.Fatalf("errors in correct packages: %q", rep.errors)
	}
	want := []string{"example.com/cgofixture/good", "example.com/cgofixture/uses"}
	if !slices.Equal(rep.targets, want) {
		t.Errorf("checked %q, want %q", rep.targets, want)
	}
	// dep declares a package-level type error on purpose: counted, ignored.
	if rep.depErrors != 1 {
		t.Errorf("dependency errors = %d, want 1", rep.depErrors)
	}
}

func TestFixtureBrokenCallFails(t *testing.T) {
	for _, arch := range []string{"arm64", "amd64"} {
		rep, err := check(context.Background(), fixture, arch, []string{"./..."})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.errors) != 1 || !strings.Contains(rep.errors[0], "bad_darwin.go:15:22") ||
			!strings.Contains(rep.errors[0], "strconv.Itoa") {
			t.Fatalf("darwin/%s: errors = %q, want the broken call in bad_darwin.go", arch, rep.errors)
		}
		if slices.Contains(rep.targets, "example.com/cgofixture") {
			t.Errorf("a package without cgo was type-checked: %q", rep.targets)
		}
	}
}

func TestNothingToCheck(t *testing.T) {
	rep, err := check(context.Background(), fixture, "arm64", []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.targets) != 0 || len(rep.errors) != 0 {
		t.Fatalf("report = %+v, want nothing checked", rep)
	}
}

func TestRequired(t *testing.T) {
	rep, err := check(context.Background(), fixture, "arm64", []string{"./good", "./uses"})
	if err != nil {
		t.Fatal(err)
	}
	if miss := missing(rep.targets, "example.com/cgofixture/good, example.com/cgofixture/uses"); len(miss) != 0 {
		t.Errorf("checked packages reported missing: %q", miss)
	}
	// The package without cgo is never checked, so requiring it fails.
	miss := missing(rep.targets, "example.com/cgofixture/good,example.com/cgofixture")
	if !slices.Equal(miss, []string{"example.com/cgofixture"}) {
		t.Errorf("missing = %q, want the package without cgo", miss)
	}
	if miss := missing(rep.targets, ""); len(miss) != 0 {
		t.Errorf("nothing required, yet missing = %q", miss)
	}
}
