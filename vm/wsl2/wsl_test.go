package wsl2

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeRunner answers each call by its first argument, in UTF-16LE as an
// older wsl.exe would, and records the calls.
type fakeRunner struct {
	mu      sync.Mutex
	calls   [][]string
	replies map[string]fakeReply
	onCall  func(args []string)
}

type fakeReply struct {
	file string // recorded output, "" for none
	exit int
	err  error
}

func (f *fakeRunner) Run(ctx context.Context, args []string) (Output, error) {
	f.mu.Lock()
	f.calls = append(f.calls, slices.Clone(args))
	r, ok := f.replies[strings.Join(args, " ")]
	if !ok {
		r = f.replies[args[0]]
	}
	f.mu.Unlock()
	if f.onCall != nil {
		f.onCall(args)
	}
	if r.err != nil {
		return Output{}, r.err
	}
	var out Output
	if r.file != "" {
		b, err := os.ReadFile(filepath.Join("testdata", r.file+".utf16le"))
		if err != nil {
			return Output{}, err
		}
		out.Stdout = b
	}
	out.ExitCode = r.exit
	return out, nil
}

func (f *fakeRunner) firsts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c[0])
	}
	return out
}

func newFake(replies map[string]fakeReply) (*Client, *fakeRunner) {
	f := &fakeRunner{replies: replies}
	return NewWithRunner("wsl.exe", f), f
}

func TestArgs(t *testing.T) {
	ctx := context.Background()
	c, f := newFake(map[string]fakeReply{
		"-l": {file: "list"}, "--terminate": {}, "--unregister": {file: "unregister-ok"},
		"--status": {file: "status"}, "--version": {file: "version"}, "-l -q --running": {file: "list-running"},
	})
	if _, err := c.List(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListRunning(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Terminate(ctx, "berth-default"); err != nil {
		t.Fatal(err)
	}
	if err := c.Unregister(ctx, "berth-default"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Version(ctx); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"-l", "-q"}, {"-l", "-q", "--running"}, {"--terminate", "berth-default"},
		{"--unregister", "berth-default"}, {"--status"}, {"--version"},
	}
	if !slices.EqualFunc(f.calls, want, slices.Equal) {
		t.Errorf("calls %q, want %q", f.calls, want)
	}
	if got := ImportArgs("n", "d", "t"); !slices.Equal(got, []string{"--import", "n", "d", "t", "--version", "2"}) {
		t.Errorf("ImportArgs = %q", got)
	}
}

func TestBadNamesNeverReachWSL(t *testing.T) {
	c, f := newFake(nil)
	ctx := context.Background()
	for _, err := range []error{
		c.Terminate(ctx, "a b"), c.Unregister(ctx, "--all"), c.Import(ctx, "", t.TempDir(), "x.tar"),
	} {
		if err == nil {
			t.Error("a bad name was accepted")
		}
	}
	if _, err := ExecArgs("a;b", []string{"true"}); err == nil {
		t.Error("ExecArgs accepted a bad name")
	}
	if len(f.calls) > 0 {
		t.Errorf("wsl.exe was called: %q", f.calls)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	c, _ := newFake(map[string]fakeReply{"-l": {file: "list"}, "-l -q --running": {file: "list-running"}})
	names, err := c.List(ctx)
	if err != nil || !slices.Equal(names, []string{"Ubuntu", "berth-default"}) {
		t.Fatalf("List = %q, %v", names, err)
	}
	if ok, err := c.Exists(ctx, "BERTH-default"); !ok || err != nil {
		t.Errorf("Exists ignores case as WSL does: %v, %v", ok, err)
	}
	if ok, err := c.Running(ctx, "Ubuntu"); ok || err != nil {
		t.Errorf("Running(Ubuntu) = %v, %v", ok, err)
	}
	for _, file := range []string{"no-distros", "no-distros-code"} {
		c, _ := newFake(map[string]fakeReply{"-l": {file: file, exit: -1}})
		if names, err := c.List(ctx); err != nil || len(names) != 0 {
			t.Errorf("%s: List = %q, %v; want no distros and no error", file, names, err)
		}
	}
	c, _ = newFake(map[string]fakeReply{"-l": {file: "not-installed", exit: -1}})
	if _, err := c.List(ctx); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("List without WSL: %v", err)
	}
}

func TestMissingWSLExe(t *testing.T) {
	c, f := newFake(map[string]fakeReply{"": {}, "--import": {err: exec.ErrNotFound}, "-l": {err: exec.ErrNotFound}})
	_, err := c.List(context.Background())
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrNotInstalled) || !errors.Is(err, exec.ErrNotFound) {
		t.Fatalf("List = %v", err)
	}
	if !strings.Contains(err.Error(), "wsl --install --no-distribution") {
		t.Errorf("%v does not say how to install WSL", err)
	}
	dir := filepath.Join(t.TempDir(), "distro")
	if err := c.Import(context.Background(), "berth-default", dir, "rootfs.tar"); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Import = %v", err)
	}
	if got := f.firsts(); !slices.Equal(got, []string{"-l", "--import"}) {
		t.Errorf("calls %q: nothing to unregister without wsl.exe", got)
	}
}

// halfImport makes the runner leave a disk in the distro directory, as
// WSL does before an import fails.
func halfImport(t *testing.T, f *fakeRunner) {
	f.onCall = func(args []string) {
		if args[0] == "--import" {
			if err := os.MkdirAll(args[2], 0o700); err != nil {
				t.Error(err)
			}
			if err := os.WriteFile(filepath.Join(args[2], "ext4.vhdx"), nil, 0o600); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestImportFailureLeavesNothing(t *testing.T) {
	for _, file := range []string{"import-failed", "import-not-a-distro", "no-vmp", "optional-component"} {
		t.Run(file, func(t *testing.T) {
			c, f := newFake(map[string]fakeReply{
				"--import": {file: file, exit: -1}, "--unregister": {file: "distro-not-found", exit: -1},
			})
			halfImport(t, f)
			dir := filepath.Join(t.TempDir(), "distro")
			err := c.Import(context.Background(), "berth-default", dir, "rootfs.tar")
			if err == nil {
				t.Fatal("the import succeeded")
			}
			if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
				t.Errorf("%s is left: %v", dir, serr)
			}
			want := []string{"--import", "--unregister"}
			if errors.Is(err, ErrNotInstalled) {
				want = want[:1] // no WSL, no distro
			}
			if got := f.firsts(); !slices.Equal(got, want) {
				t.Errorf("calls %q, want %q", got, want)
			}
			if strings.Contains(err.Error(), "half-imported") {
				t.Errorf("a distro WSL never registered is reported: %v", err)
			}
		})
	}
}

func TestImportFailureKeepsAnEmptyDir(t *testing.T) {
	c, f := newFake(map[string]fakeReply{"--import": {file: "import-failed", exit: -1}, "--unregister": {file: "unregister-ok"}})
	halfImport(t, f)
	dir := t.TempDir()
	if err := c.Import(context.Background(), "berth-default", dir, "rootfs.tar"); !errors.Is(err, ErrImportFailed) {
		t.Fatalf("Import = %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) > 0 {
		t.Errorf("%s: %v, %v; want it there and empty", dir, entries, err)
	}
}

func TestImportCleansUpAfterCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c, f := newFake(map[string]fakeReply{"--unregister": {file: "unregister-ok"}})
	halfImport(t, f)
	f.replies["--import"] = fakeReply{err: context.Canceled}
	cancel()
	dir := filepath.Join(t.TempDir(), "distro")
	if err := c.Import(ctx, "berth-default", dir, "rootfs.tar"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Import = %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is left: %v", dir, err)
	}
	if got := f.firsts(); !slices.Equal(got, []string{"--import", "--unregister"}) {
		t.Errorf("calls %q", got)
	}
}

func TestImportRefusesANonEmptyDir(t *testing.T) {
	c, f := newFake(nil)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ext4.vhdx"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Import(context.Background(), "berth-default", dir, "rootfs.tar"); err == nil {
		t.Fatal("imported into a directory with a disk in it")
	}
	if _, err := os.Stat(filepath.Join(dir, "ext4.vhdx")); err != nil || len(f.calls) > 0 {
		t.Errorf("the directory was touched (%v) or wsl.exe called (%q)", err, f.calls)
	}
}

// A distro that is there already, under that name or in that directory,
// is someone's: neither unregistered nor its directory removed.
func TestImportOfAnExistingDistro(t *testing.T) {
	for kind, r := range map[error]fakeReply{
		ErrDistroExists: {file: "import-exists", exit: -1},
		ErrDirInUse:     {file: "import-dir-in-use", exit: -1},
	} {
		c, f := newFake(map[string]fakeReply{"--import": r})
		halfImport(t, f) // stands for the other distro's disk
		dir := filepath.Join(t.TempDir(), "distro")
		err := c.Import(context.Background(), "berth-default", dir, "rootfs.tar")
		if !errors.Is(err, kind) {
			t.Fatalf("Import = %v, want %v", err, kind)
		}
		if got := f.firsts(); !slices.Equal(got, []string{"--import"}) {
			t.Errorf("%v: calls %q", kind, got)
		}
		if _, err := os.Stat(filepath.Join(dir, "ext4.vhdx")); err != nil {
			t.Errorf("%v: the disk in the directory: %v", kind, err)
		}
	}
}

func TestEnsureImported(t *testing.T) {
	ctx := context.Background()
	c, f := newFake(map[string]fakeReply{"-l": {file: "list"}})
	imported, err := c.EnsureImported(ctx, "Berth-Default", filepath.Join(t.TempDir(), "d"), "rootfs.tar")
	if err != nil || imported || !slices.Equal(f.firsts(), []string{"-l"}) {
		t.Errorf("an existing distro: imported=%v err=%v calls=%q", imported, err, f.calls)
	}
	// Registered by someone else between the list and the import.
	c, _ = newFake(map[string]fakeReply{"-l": {file: "no-distros", exit: -1}, "--import": {file: "import-exists", exit: -1}})
	if imported, err := c.EnsureImported(ctx, "berth-default", filepath.Join(t.TempDir(), "d"), "rootfs.tar"); err != nil || imported {
		t.Errorf("a race: imported=%v err=%v", imported, err)
	}
	c, _ = newFake(map[string]fakeReply{"-l": {file: "list"}, "--import": {file: "import-ok"}})
	if imported, err := c.EnsureImported(ctx, "berth-new", filepath.Join(t.TempDir(), "d"), "rootfs.tar"); err != nil || !imported {
		t.Errorf("a new distro: imported=%v err=%v", imported, err)
	}
}

func TestExec(t *testing.T) {
	c := New(`C:\Windows\System32\wsl.exe`)
	cmd, err := c.Exec(context.Background(), "berth-default", "/usr/bin/berth-init", "--wsl")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`C:\Windows\System32\wsl.exe`, "-d", "berth-default", "-u", "root", "--exec", "/usr/bin/berth-init", "--wsl"}
	if !slices.Equal(cmd.Args, want) {
		t.Errorf("args %q, want %q", cmd.Args, want)
	}
	if !slices.Contains(cmd.Env, "WSL_UTF8=1") {
		t.Error("no WSL_UTF8=1 in the environment")
	}
	checkHidden(t, cmd)
	if _, err := c.Exec(context.Background(), "berth-default"); err == nil {
		t.Error("Exec without a command")
	}
}
