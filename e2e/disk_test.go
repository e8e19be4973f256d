package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dataDisk is the machine's data disk image, as the agent names it.
const dataDisk = "data.img"

// debugfs runs e2fsprogs' debugfs on a file-system image (the host's
// tools, so the test needs no VM to read or damage the disk).
func debugfs(t *testing.T, img string, args ...string) string {
	t.Helper()
	out, err := exec.Command("debugfs", append(args, img)...).CombinedOutput()
	if err != nil {
		t.Fatalf("debugfs %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDamagedFileSystemIsNotFormatted: a data disk whose ext4 file system
// has errors that e2fsck -p will not fix is never formatted: the start
// says what e2fsck said, and the user's files are still on the disk.
func TestDamagedFileSystemIsNotFormatted(t *testing.T) {
	e := newEnv(t)
	for _, tool := range []string{"mkfs.ext4", "debugfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s (e2fsprogs) is needed on the host for this test: %v", tool, err)
		}
	}
	e.mustBerth(t, "config", "set", "disk", "4GiB")
	dir := e.machineDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(dir, dataDisk)
	if err := os.WriteFile(disk, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, 4<<30); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", "berth-data", disk).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	marker := filepath.Join(t.TempDir(), "marker")
	if err := os.WriteFile(marker, []byte("the user's data\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The damage is in the engine's own directory: a block pointer far
	// beyond the disk, and the file system marked as having errors.
	debugfs(t, disk, "-w", "-R", "write "+marker+" marker")
	debugfs(t, disk, "-w", "-R", "mkdir docker")
	debugfs(t, disk, "-w", "-R", "set_inode_field docker block[0] 0xFFFFFF0")
	debugfs(t, disk, "-w", "-R", "ssv state 2")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := e.berth(ctx, "start")
	t.Logf("berth start on a damaged file system (err %v):\n%s", err, out)
	if err == nil {
		// Mounted with errors: the machine runs degraded and says why.
		st := e.status(t)
		out = st.Error
		if st.State != "degraded" {
			t.Errorf("state %q on a file system with uncorrected errors, want degraded or a failed start", st.State)
		}
	}
	if !strings.Contains(out, "e2fsck -p") || !strings.Contains(out, "exit 4") {
		t.Errorf("the start does not quote e2fsck:\n%s", out)
	}
	if out, err := e.berth(ctx, "stop"); err != nil {
		t.Errorf("berth stop: %v\n%s", err, out)
	}
	if got := debugfs(t, disk, "-R", "cat marker"); !strings.Contains(got, "the user's data") {
		t.Fatalf("the user's file is gone from the data disk (formatted?): %q", got)
	}
}

// TestFullDataDiskStillStarts: a data disk that containers filled to the
// last block still lets the engine start on the next boot (the guest
// releases its reserve and says so), so the user can delete what filled it.
func TestFullDataDiskStillStarts(t *testing.T) {
	e := newEnv(t)
	e.mustBerth(t, "config", "set", "disk", "4GiB")
	e.mustBerth(t, "start")
	e.buildBusyboxImage(t, "berth-test-busybox")
	// fallocate takes blocks without writing them: the disk fills in
	// seconds and its sparse image stays small on the host.
	fill := `i=0; for s in 1073741824 104857600 10485760 1048576 65536 4096; do ` +
		`while fallocate -l $s /fill$i 2>/dev/null; do i=$((i+1)); done; done; df -k /`
	out := e.mustDocker(t, "run", "--name", "filler", "berth-test-busybox", "sh", "-c", fill)
	t.Logf("filled:\n%s", out)
	if f := strings.Fields(lastLine(out)); len(f) < 4 || f[3] != "0" {
		t.Fatalf("the disk is not full (df: %q)", lastLine(out))
	}
	// A boot (a restored VM has its engine up already): the init frees
	// its reserve so that the engine starts on the full disk.
	e.mustBerth(t, "stop", "--no-save")

	e.mustBerth(t, "start")
	waitFor(t, "the warning about the full disk in berth status", time.Minute, func() bool {
		return strings.Contains(e.mustBerth(t, "status"), "data disk was full")
	})
	e.mustDocker(t, "rm", "filler")
	if out := e.mustDocker(t, "run", "--rm", "berth-test-busybox", "echo", "room again"); !strings.Contains(out, "room again") {
		t.Fatalf("a container after freeing the disk: %q", out)
	}
}
