//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFilesAsUser runs Berth as a normal user, as a desktop user would
// (the rest of the suite runs as whoever runs it, root in CI): the
// machine starts, its default share (the user's home) works, and what a
// container running as root creates in a bind mount belongs to that user
// on the host. One boot.
func TestFilesAsUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run berth as another user; as a normal user TestFiles covers this")
	}
	e := newEnv(t)
	uid := freeUID(t)
	gid := uid
	home := filepath.Join(e.home, "home")
	for _, d := range []string{e.home, home, e.dockerCfg} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	e.bin = reachableBerth(t, e.bin, filepath.Join(e.home, "install"), uid, gid)
	e.asUser = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	// No config: the default shares the user's home.
	e.extraEnv = []string{"HOME=" + home, "USER=berthtest"}

	t0 := time.Now()
	e.mustBerth(t, "start")
	t.Logf("start as uid %d: %s", uid, time.Since(t0).Round(time.Second))

	var st struct {
		FileSharing     string   `json:"fileSharing"`
		FileSharingNote string   `json:"fileSharingNote"`
		Shares          []string `json:"shares"`
		VMPID           int      `json:"vmPID"`
	}
	if err := json.Unmarshal([]byte(e.mustBerth(t, "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.FileSharing != "virtiofs" || st.FileSharingNote != "" || len(st.Shares) != 1 || st.Shares[0] != home {
		t.Fatalf("status as a user: %+v", st)
	}
	// Nothing of the machine runs as root: QEMU and virtiofsd are the user's.
	for _, pid := range machinePIDs(t, e.home) {
		if u := processUID(t, pid); u != uid {
			t.Errorf("process %d of the machine runs as uid %d, want %d: %s", pid, u, uid, cmdline(pid))
		}
	}
	if !strings.Contains(strings.Join(cmdlines(machinePIDs(t, e.home)), "\n"), "virtiofsd") {
		t.Errorf("no virtiofsd among the machine's processes")
	}

	e.buildBusyboxImage(t, filesImage)
	app := filepath.Join(home, "app")
	if err := os.Mkdir(app, 0o755); err != nil {
		t.Fatal(err)
	}
	chown(t, uid, gid, app)
	id := strings.TrimSpace(e.mustDocker(t, "run", "-d", "-v", app+":/app", filesImage, "sleep", "3600"))
	defer e.mustDocker(t, "rm", "-f", id)

	t.Run("files a root container creates are the user's", func(t *testing.T) {
		e.mustDocker(t, "exec", id, "sh", "-c",
			"id -u > /app/made.txt && mkdir -p /app/dir/sub && echo x > /app/dir/sub/f && chown 123:456 /app/dir/sub/f")
		for _, p := range []string{"made.txt", "dir", "dir/sub", "dir/sub/f"} {
			if u, g := owner(t, filepath.Join(app, p)); u != uid || g != gid {
				t.Errorf("%s is owned by %d:%d on the host, want the user's %d:%d", p, u, g, uid, gid)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(app, "made.txt")); string(b) != "0\n" {
			t.Errorf("the container did not run as root: id -u said %q", b)
		}
	})

	t.Run("edits on both sides", func(t *testing.T) {
		page := filepath.Join(app, "page.html")
		for i := range 3 {
			// Same length every time: a stale cached size would not show.
			want := fmt.Sprintf("host edit %d", i)
			writeFile(t, page, want)
			chown(t, uid, gid, page)
			if got := e.mustDocker(t, "exec", id, "cat", "/app/page.html"); got != want {
				t.Fatalf("container sees %q after the host wrote %q", got, want)
			}
			ctr := fmt.Sprintf("ctr. edit %d", i)
			e.mustDocker(t, "exec", id, "sh", "-c", "printf '"+ctr+"' > /app/page.html")
			if b, _ := os.ReadFile(page); string(b) != ctr {
				t.Fatalf("host sees %q after the container wrote %q", b, ctr)
			}
		}
		os.Remove(page)
		if out, _ := e.docker(context.Background(), nil, "exec", id, "ls", "/app"); strings.Contains(out, "page.html") {
			t.Fatalf("removed on the host, still listed in the container: %q", out)
		}
	})
}

// freeUID is a uid (and gid) no account has.
func freeUID(t *testing.T) int {
	t.Helper()
	for id := 4242; id < 5242; id++ {
		_, uerr := user.LookupId(strconv.Itoa(id))
		_, gerr := user.LookupGroupId(strconv.Itoa(id))
		if uerr != nil && gerr != nil {
			return id
		}
	}
	t.Fatal("no free uid between 4242 and 5241")
	return 0
}

func chown(t *testing.T, uid, gid int, p string) {
	t.Helper()
	if err := os.Chown(p, uid, gid); err != nil {
		t.Fatal(err)
	}
}

// reachableBerth returns a berth binary that the user can run and whose
// guest image (found next to it) the user can read: bin itself, or a copy
// of both in dir (a checkout under /root is out of the user's reach). dir
// goes with the machine's directory, after the machine has stopped.
func reachableBerth(t *testing.T, bin, dir string, uid, gid int) string {
	t.Helper()
	img := filepath.Join(filepath.Dir(bin), "..", "share", "berth", "image")
	check := exec.Command("sh", "-c", `test -x "$1" && test -r "$2"/*/rootfs.img && test -x "$2"/*/virtiofsd/usr/libexec/virtiofsd`, "sh", bin, img)
	check.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	if check.Run() == nil {
		return bin
	}
	for _, d := range []string{"bin", "share/berth"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cp := exec.Command("sh", "-c", `cp "$1" "$3/bin/berth" && cp -r "$2" "$3/share/berth/image" && chmod -R a+rX "$3"`, "sh", bin, img, dir)
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("copying berth and its image where uid %d can read them: %v: %s", uid, err, out)
	}
	t.Logf("berth and its image copied to %s: uid %d cannot reach %s", dir, uid, bin)
	return filepath.Join(dir, "bin", "berth")
}

// machinePIDs are the processes whose command line names the machine's
// state directory (the agent, QEMU, virtiofsd).
func machinePIDs(t *testing.T, home string) []int {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", home).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		t.Fatalf("no process names %s", home)
	}
	return pids
}

func processUID(t *testing.T, pid int) int {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d", pid), &st); err != nil {
		return -1
	}
	return int(st.Uid)
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.ReplaceAll(string(b), "\x00", " ")
}

func cmdlines(pids []int) []string {
	var out []string
	for _, p := range pids {
		out = append(out, cmdline(p))
	}
	return out
}
