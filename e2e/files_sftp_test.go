package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestFilesSFTP: the shares that reach a VM without virtio-fs (Hyper-V,
// QEMU on macOS and Windows) go over the host agent's SFTP and the guest's
// sshfs. Here the QEMU machine is told to use that way
// (BERTH_FILE_SHARING=sftp), so the same code runs for real: binds both
// ways, a read-only share, the mounts back after a saved VM is restored
// and after the agent is killed.
func TestFilesSFTP(t *testing.T) {
	e := newEnv(t)
	e.extraEnv = append(e.extraEnv, "BERTH_FILE_SHARING=sftp")
	d := writeShareConfig(t, e)
	t0 := time.Now()
	e.mustBerth(t, "start")
	t.Logf("start: %s", time.Since(t0).Round(time.Second))

	var st struct {
		FileSharing string   `json:"fileSharing"`
		Shares      []string `json:"shares"`
	}
	if err := json.Unmarshal([]byte(e.mustBerth(t, "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.FileSharing != "sftp" || len(st.Shares) != 3 {
		t.Fatalf("status: %+v", st)
	}
	e.buildBusyboxImage(t, filesImage)

	// seen waits for a container's view of a file to be want: the guest
	// caches what it read for a second.
	seen := func(t *testing.T, id, file, want string) {
		t.Helper()
		var got string
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if got = e.mustDocker(t, "exec", id, "sh", "-c", "cat "+file+" 2>&1; true"); got == want {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("container sees %q in %s, want %q", got, file, want)
	}

	t.Run("read-write bind, edits on both sides", func(t *testing.T) {
		id := strings.TrimSpace(e.mustDocker(t, "run", "-d", "-v", d.rw+":/app", filesImage, "sleep", "3600"))
		defer e.mustDocker(t, "rm", "-f", id)
		for i := range 3 {
			want := fmt.Sprintf("host edit %d", i)
			writeFile(t, d.rw+"/index.html", want)
			seen(t, id, "/app/index.html", want)
			ctr := fmt.Sprintf("container edit %d", i)
			e.mustDocker(t, "exec", id, "sh", "-c", "printf '"+ctr+"' > /app/index.html && mkdir -p /app/made/deep && ln -sf index.html /app/link")
			if b, _ := os.ReadFile(d.rw + "/index.html"); string(b) != ctr {
				t.Fatalf("host sees %q after the container wrote %q", b, ctr)
			}
		}
		if target, err := os.Readlink(d.rw + "/link"); err != nil || target != "index.html" {
			t.Errorf("the container's symbolic link on the host: %q %v", target, err)
		}
		// Made in the container as root: the host user's on the host, as
		// the agent, which serves the folder, is that user.
		for _, p := range []string{d.rw + "/index.html", d.rw + "/made/deep"} {
			uid, gid := owner(t, p)
			if uid != os.Getuid() || gid != os.Getgid() {
				t.Errorf("%s is owned by %d:%d on the host, want the host user %d:%d", p, uid, gid, os.Getuid(), os.Getgid())
			}
		}
		// A link that leads out of the share leads nowhere on the host.
		writeFile(t, d.outside+"/secret", "secret")
		if err := os.Symlink(d.outside+"/secret", d.rw+"/out"); err != nil {
			t.Fatal(err)
		}
		if out := e.mustDocker(t, "exec", id, "sh", "-c", "cat /app/out 2>&1; true"); strings.Contains(out, "secret") && !strings.Contains(out, "No such") {
			t.Errorf("a link out of the share was followed on the host: %q", out)
		}
		os.Remove(d.rw + "/index.html")
		waitFor(t, "the removal on the host to show in the container", 5*time.Second, func() bool {
			out := e.mustDocker(t, "exec", id, "ls", "/app")
			return !strings.Contains(out, "index.html")
		})
	})

	t.Run("read-only share", func(t *testing.T) {
		writeFile(t, d.ro+"/f", "ro-share")
		out := e.mustDocker(t, "run", "--rm", "-v", d.ro+":/d", filesImage, "sh", "-c", "cat /d/f; touch /d/g 2>&1; true")
		if !strings.Contains(out, "ro-share") || !strings.Contains(out, "Read-only file system") {
			t.Fatalf("read-only share: %q", out)
		}
		if _, err := os.Stat(d.ro + "/g"); err == nil {
			t.Fatal("a file appeared in the read-only share")
		}
	})

	// A container that writes to its bind as it is stopped: the shares
	// must outlive the containers at a stop.
	lastWords := func(t *testing.T, name string) {
		t.Helper()
		e.mustDocker(t, "run", "-d", "--name", name, "-v", d.rw+":/d", filesImage, "sh", "-c",
			"trap 'echo bye > /d/"+name+"; exit 0' TERM; while :; do sleep 1; done")
	}
	lastWordsSeen := func(t *testing.T, name string) {
		t.Helper()
		if b, err := os.ReadFile(d.rw + "/" + name); err != nil || string(b) != "bye\n" {
			t.Errorf("the container's write as it stopped: %q %v", b, err)
		}
	}

	t.Run("the shares come back in a restored VM", func(t *testing.T) {
		lastWords(t, "saved")
		e.mustBerth(t, "stop")
		lastWordsSeen(t, "saved")
		e.mustBerth(t, "start")
		if st := e.status(t); st.Timeline == nil || !st.Timeline.Restored {
			t.Fatalf("the start did not restore the saved VM: %+v", st.Timeline)
		}
		writeFile(t, d.rw+"/restored", "after restore")
		if out := e.mustDocker(t, "run", "--rm", "-v", d.rw+":/d", filesImage, "cat", "/d/restored"); out != "after restore" {
			t.Fatalf("bind after restore: %q", out)
		}
	})

	t.Run("the shares come back after the agent is killed", func(t *testing.T) {
		e.killAgent(t)
		e.mustBerth(t, "start") // adopts the running VM (which cannot be saved then: its boot was not this agent's)
		writeFile(t, d.rw+"/adopted", "after adoption")
		if out := e.mustDocker(t, "run", "--rm", "-v", d.rw+":/d", filesImage, "cat", "/d/adopted"); out != "after adoption" {
			t.Fatalf("bind after adoption: %q", out)
		}
	})

	t.Run("a stop without saving keeps the shares until the containers stopped", func(t *testing.T) {
		lastWords(t, "stopped")
		e.mustBerth(t, "stop", "--no-save")
		lastWordsSeen(t, "stopped")
	})
}
