package e2e

import (
	"context"
	"encoding/json"
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

	t.Run("read-write bind, edits on both sides", func(t *testing.T) {
		// The guest caches what it read for a second.
		editsBothWays(t, e, d, 5*time.Second, func(id string) {
			e.mustDocker(t, "exec", id, "ln", "-sf", "index.html", "/app/link")
			if target, err := os.Readlink(d.rw + "/link"); err != nil || target != "index.html" {
				t.Errorf("the container's symbolic link on the host: %q %v", target, err)
			}
			// A link that leads out of the share leads nowhere on the host.
			writeFile(t, d.outside+"/secret", "secret")
			if err := os.Symlink(d.outside+"/secret", d.rw+"/out"); err != nil {
				t.Fatal(err)
			}
			if out, _ := e.docker(context.Background(), nil, "exec", id, "cat", "/app/out"); strings.TrimSpace(out) == "secret" {
				t.Errorf("a link out of the share was followed on the host: %q", out)
			}
		})
	})

	t.Run("read-only share", func(t *testing.T) { readOnlyShare(t, e, d) })

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
