package wsl2

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/berth-dev/berth/internal/wine"
	"github.com/berth-dev/berth/vm/wsl2/internal/fakewsl"
)

// envSelf makes the test binary the stand-in wsl.exe.
const envSelf = "BERTH_TEST_FAKEWSL"

func TestMain(m *testing.M) {
	if os.Getenv(envSelf) == "1" {
		os.Exit(fakewsl.Main(os.Args[1:]))
	}
	code := m.Run()
	if standInDir != "" {
		os.RemoveAll(standInDir)
	}
	os.Exit(code)
}

// standIn is the stand-in wsl.exe, built once from ./internal/fakewsl/wsl
// with the go command; where there is none to run (a Windows test binary
// under Wine), the test binary itself, which runs the same code.
func standIn(t *testing.T) string {
	t.Helper()
	exe, err := builtStandIn()
	if errors.Is(err, errNoGo) {
		t.Logf("the test binary is the stand-in: %v", err)
		return selfStandIn(t)
	}
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func selfStandIn(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(envSelf, "1")
	return self
}

var errNoGo = errors.New("no go command to build the stand-in with")

// standInDir holds the built stand-in; TestMain removes it.
var standInDir string

var builtStandIn = sync.OnceValues(func() (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil || wine.Detected() {
		return "", fmt.Errorf("%w (under Wine: %v)", errNoGo, wine.Detected())
	}
	if standInDir, err = os.MkdirTemp("", "fakewsl-"); err != nil {
		return "", err
	}
	exe := filepath.Join(standInDir, "wsl")
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	cmd := exec.Command(goCmd, "build", "-o", exe, "github.com/berth-dev/berth/vm/wsl2/internal/fakewsl/wsl")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the stand-in wsl.exe: %w\n%s", err, out)
	}
	return exe, nil
})

// scene is the stand-in's script for one test, and its log.
type scene struct {
	t   *testing.T
	log string
}

// reply answers calls starting with args with the recorded output name
// (both variants, or the UTF-16LE one alone for an older wsl.exe).
func reply(name string, exit int, args ...string) fakewsl.Reply {
	return fakewsl.Reply{Args: args, UTF8: testdataPath(name + ".utf8"), UTF16: testdataPath(name + ".utf16le"), Exit: exit}
}

func oldReply(name string, exit int, args ...string) fakewsl.Reply {
	r := reply(name, exit, args...)
	r.UTF8 = ""
	return r
}

func testdataPath(name string) string {
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return p
}

func newScene(t *testing.T, replies ...fakewsl.Reply) (*Client, *scene) {
	t.Helper()
	return newSceneWith(t, standIn(t), replies...)
}

func newSceneWith(t *testing.T, exe string, replies ...fakewsl.Reply) (*Client, *scene) {
	t.Helper()
	dir := t.TempDir()
	b, err := json.Marshal(replies)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "replies.json")
	if err := os.WriteFile(script, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s := &scene{t: t, log: filepath.Join(dir, "calls.jsonl")}
	t.Setenv("FAKEWSL_REPLIES", script)
	t.Setenv("FAKEWSL_LOG", s.log)
	t.Setenv("WSL_UTF8", "") // the wrapper sets it, not the test's environment
	return New(exe), s
}

func (s *scene) calls() []fakewsl.Call {
	s.t.Helper()
	f, err := os.Open(s.log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	var calls []fakewsl.Call
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c fakewsl.Call
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			s.t.Fatal(err)
		}
		calls = append(calls, c)
	}
	return calls
}

func (s *scene) args() [][]string {
	var out [][]string
	for _, c := range s.calls() {
		out = append(out, c.Args)
	}
	return out
}

func TestStandInEveryCallAsksForUTF8(t *testing.T) {
	c, s := newScene(t, reply("list", 0, "-l"))
	names, err := c.List(context.Background())
	if err != nil || !slices.Equal(names, []string{"Ubuntu", "berth-default"}) {
		t.Fatalf("List = %q, %v", names, err)
	}
	calls := s.calls()
	if len(calls) != 1 || !slices.Equal(calls[0].Args, []string{"-l", "-q"}) {
		t.Fatalf("calls %+v", calls)
	}
	if !slices.Contains(calls[0].Env, "WSL_UTF8=1") {
		t.Error("wsl.exe ran without WSL_UTF8=1")
	}
}

// An older wsl.exe ignores WSL_UTF8 and prints UTF-16LE.
func TestStandInOlderWSLPrintsUTF16(t *testing.T) {
	ctx := context.Background()
	c, _ := newScene(t, oldReply("list-running", 0, "-l", "-q", "--running"), oldReply("no-distros", -1, "-l"),
		oldReply("version", 0, "--version"))
	running, err := c.ListRunning(ctx)
	if err != nil || !slices.Equal(running, []string{"berth-default"}) {
		t.Errorf("ListRunning = %q, %v", running, err)
	}
	if names, err := c.List(ctx); err != nil || len(names) > 0 {
		t.Errorf("List with no distros = %q, %v", names, err)
	}
	if v, err := c.Version(ctx); err != nil || v.WSL != "1.1.2.0" {
		t.Errorf("Version = %+v, %v", v, err)
	}
}

func TestStandInImport(t *testing.T) {
	c, s := newScene(t, reply("import-ok", 0, "--import"))
	dir, tar := filepath.Join(t.TempDir(), "distro"), testdataPath("list.utf8")
	if err := c.Import(context.Background(), "berth-default", dir, tar); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"--import", "berth-default", dir, tar, "--version", "2"}}
	if got := s.args(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("calls %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "ext4.vhdx")); err != nil {
		t.Errorf("the distro's disk: %v", err)
	}
}

func TestStandInFailedImportLeavesNothing(t *testing.T) {
	c, s := newScene(t, reply("import-failed", -1, "--import"), reply("distro-not-found", -1, "--unregister"))
	dir := filepath.Join(t.TempDir(), "distro")
	err := c.Import(context.Background(), "berth-default", dir, "rootfs.tar")
	var e *Error
	if !errors.Is(err, ErrImportFailed) || !errors.As(err, &e) || e.Code != "Wsl/Service/RegisterDistro/E_FAIL" {
		t.Fatalf("Import = %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is left: %v", dir, err)
	}
	want := [][]string{ImportArgs("berth-default", dir, "rootfs.tar"), {"--unregister", "berth-default"}}
	if got := s.args(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestStandInExistingDistroIsLeftAlone(t *testing.T) {
	c, s := newScene(t, reply("import-exists", -1, "--import"), reply("list", 0, "-l"))
	parent := t.TempDir()
	err := c.Import(context.Background(), "berth-default", filepath.Join(parent, "a"), "rootfs.tar")
	if !errors.Is(err, ErrDistroExists) {
		t.Fatalf("Import = %v", err)
	}
	imported, err := c.EnsureImported(context.Background(), "berth-default", filepath.Join(parent, "b"), "rootfs.tar")
	if err != nil || imported {
		t.Fatalf("EnsureImported = %v, %v", imported, err)
	}
	want := [][]string{ImportArgs("berth-default", filepath.Join(parent, "a"), "rootfs.tar"), {"-l", "-q"}}
	if got := s.args(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestStandInWhatIsMissing(t *testing.T) {
	stderrOnly := oldReply("kernel-update", -1, "--import")
	stderrOnly.Stderr, stderrOnly.UTF16 = stderrOnly.UTF16, ""
	for _, tc := range []struct {
		name  string
		reply fakewsl.Reply
		kind  error
	}{
		{"no WSL", oldReply("not-installed", -1), ErrNotInstalled},
		{"no optional component", reply("optional-component", -1), ErrNotInstalled},
		{"no Virtual Machine Platform", reply("no-vmp", -1), ErrNoWSL2},
		{"old kernel, on stderr", stderrOnly, ErrNoWSL2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newScene(t, tc.reply, reply("distro-not-found", -1, "--unregister"))
			err := c.Import(context.Background(), "berth-default", filepath.Join(t.TempDir(), "d"), "rootfs.tar")
			if !errors.Is(err, tc.kind) {
				t.Errorf("Import = %v, want %v", err, tc.kind)
			}
		})
	}
}

func TestStandInTerminateAndUnregister(t *testing.T) {
	ctx := context.Background()
	c, s := newScene(t, reply("distro-not-found", -1, "--terminate"), reply("unregister-ok", 0, "--unregister"))
	if err := c.Terminate(ctx, "berth-gone"); !errors.Is(err, ErrDistroNotFound) {
		t.Errorf("Terminate = %v", err)
	}
	if err := c.Unregister(ctx, "berth-default"); err != nil {
		t.Errorf("Unregister = %v", err)
	}
	want := [][]string{{"--terminate", "berth-gone"}, {"--unregister", "berth-default"}}
	if got := s.args(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestStandInExec(t *testing.T) {
	c, s := newScene(t, reply("status", 0, "-d"))
	cmd, err := c.Exec(context.Background(), "berth-default", "/sbin/berth-init", "--wsl")
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if Decode(out) != "Default Distribution: Ubuntu\nDefault Version: 2\n" {
		t.Errorf("output %q", out)
	}
	calls := s.calls()
	want := []string{"-d", "berth-default", "-u", "root", "--exec", "/sbin/berth-init", "--wsl"}
	if len(calls) != 1 || !slices.Equal(calls[0].Args, want) || !slices.Contains(calls[0].Env, "WSL_UTF8=1") {
		t.Errorf("calls %+v, want args %q with WSL_UTF8=1", calls, want)
	}
}

func TestNoWSLExe(t *testing.T) {
	c := New(filepath.Join(t.TempDir(), "wsl.exe"))
	_, err := c.Status(context.Background())
	if !errors.Is(err, ErrNotInstalled) {
		t.Errorf("Status with no wsl.exe = %v", err)
	}
}

// The test binary as the stand-in, as under Wine, on every OS.
func TestStandInSelf(t *testing.T) {
	c, s := newSceneWith(t, selfStandIn(t), oldReply("list", 0, "-l"))
	names, err := c.List(context.Background())
	if err != nil || !slices.Equal(names, []string{"Ubuntu", "berth-default"}) {
		t.Fatalf("List = %q, %v", names, err)
	}
	if calls := s.calls(); len(calls) != 1 || !slices.Contains(calls[0].Env, "WSL_UTF8=1") {
		t.Errorf("calls %+v", calls)
	}
}
