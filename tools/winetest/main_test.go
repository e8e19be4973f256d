package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPickWindows(t *testing.T) {
	win := []listedPackage{
		{ImportPath: "m/same", GoFiles: []string{"a.go"}, TestGoFiles: []string{"a_test.go"}},
		{ImportPath: "m/winfile", GoFiles: []string{"a.go", "a_windows.go"}, TestGoFiles: []string{"a_test.go"}},
		{ImportPath: "m/wintest", GoFiles: []string{"a.go"}, TestGoFiles: []string{"a_windows_test.go"}},
		{ImportPath: "m/notests", GoFiles: []string{"a_windows.go"}},
		{ImportPath: "m/winonly", GoFiles: []string{"a_windows.go"}, XTestGoFiles: []string{"x_test.go"}},
	}
	linux := []listedPackage{
		{ImportPath: "m/same", GoFiles: []string{"a.go"}, TestGoFiles: []string{"a_test.go"}},
		{ImportPath: "m/winfile", GoFiles: []string{"a.go", "a_unix.go"}, TestGoFiles: []string{"a_test.go"}},
		{ImportPath: "m/wintest", GoFiles: []string{"a.go"}},
		{ImportPath: "m/notests"},
	}
	got := pickWindows(win, linux)
	want := []string{"m/winfile", "m/wintest", "m/winonly"}
	if !slices.Equal(got, want) {
		t.Fatalf("pickWindows = %v, want %v", got, want)
	}
}

func TestJudge(t *testing.T) {
	exit1 := errors.New("exit status 1")
	for _, tc := range []struct {
		name string
		out  string
		err  error
		ok   bool
	}{
		{"pass", "=== RUN   TestA\n--- PASS: TestA (0.00s)\nPASS\n", nil, true},
		{"pass crlf", "--- PASS: TestA (0.00s)\r\nPASS\r\n", nil, true},
		{"fail", "--- FAIL: TestA (0.00s)\nFAIL\n", exit1, false},
		{"no output", "", nil, false},
		{"cut short", "=== RUN   TestA\n", nil, false},
		{"wine could not start it", "wine: could not load kernel32.dll\n", exit1, false},
	} {
		if r := judge([]byte(tc.out), tc.err); r.ok != tc.ok {
			t.Errorf("%s: ok = %v (%s), want %v", tc.name, r.ok, r.why, tc.ok)
		}
	}
}

func TestSkips(t *testing.T) {
	out := "=== RUN   TestB\n    b_test.go:8: setting up\n    b_test.go:9: skipped under Wine: needs HCS\n--- SKIP: TestB (0.00s)\n=== RUN   TestC\n--- SKIP: TestC (0.00s)\n=== RUN   TestD\n--- PASS: TestD (0.00s)\nPASS\n"
	got := skips([]byte(out))
	want := []string{"TestB: b_test.go:9: skipped under Wine: needs HCS", "TestC: (no reason given)"}
	if !slices.Equal(got, want) {
		t.Fatalf("skips = %q, want %q", got, want)
	}
}

// TestRunnerUnderWine runs the fixture module for real: a run that
// includes a failing Windows test must fail, and one without it must pass
// and list the skip with its reason. It needs Wine and mingw and creates
// two prefixes, so it runs only when asked (make test-windows does).
func TestRunnerUnderWine(t *testing.T) {
	if os.Getenv("BERTH_WINE_TESTS") != "1" {
		t.Skip("set BERTH_WINE_TESTS=1 to run under Wine (make test-windows does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	base := options{dir: "testdata/fixture", patterns: []string{"./..."}, timeout: time.Minute, shimSrc: "../../hack/wine", wine: "wine"}

	var out bytes.Buffer
	o := base
	o.stdout = &out
	err := run(ctx, o)
	if err == nil {
		t.Fatalf("run with a failing test succeeded; output:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "deliberate failure") || !strings.Contains(err.Error(), "example.com/winefixture") {
		t.Fatalf("failure not from the fixture's test: %v\n%s", err, out.String())
	}

	out.Reset()
	o = base
	o.stdout = &out
	o.run = "TestPasses|TestSkips|TestTestdata"
	if err := run(ctx, o); err != nil {
		t.Fatalf("run without the failing test: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "TestSkips: fixture_windows_test.go:15: needs HCS, which Wine does not have") {
		t.Fatalf("skip reason not listed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "--- PASS: TestTestdata") {
		t.Fatalf("the fixture's testdata test did not pass:\n%s", out.String())
	}
}

func TestPatchDeleteat(t *testing.T) {
	src := []byte("package windows\n\n// TestDeleteatFallback ...\nvar TestDeleteatFallback bool\n\nfunc f() {}\n")
	got, err := patchDeleteat(src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte("var TestDeleteatFallback = true")) {
		t.Fatalf("not patched:\n%s", got)
	}
	if _, err := patchDeleteat([]byte("package windows\n")); err == nil {
		t.Fatal("patching a file without the switch succeeded")
	}
}
