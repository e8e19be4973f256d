package e2e

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fileOps are the benchmark's operations, as shell commands on a
// directory ($D): 200 MB written and read sequentially, and a tree of
// 5,000 small files written (unpacked) and read (packed).
// A write first removes what it writes (clean); a read reads what an
// earlier step left.
var fileOps = []struct{ name, clean, cmd string }{
	{"seq-write-200MB", "w.bin", "dd if=/dev/zero of=$D/w.bin bs=1M count=200 conv=fsync 2>/dev/null"},
	{"seq-read-200MB", "", "cat $D/r.bin > /dev/null"},
	{"tree-write-5000", "tree", "mkdir -p $D/tree && tar -xf $T -C $D/tree && sync"},
	{"tree-read-5000", "", "tar -cf - -C $D/tree . > /dev/null"},
}

const (
	// benchFileRuns: each operation is timed this often on each side and
	// the median kept; on a host shared with other work a single run can
	// be off by a factor of three.
	benchFileRuns   = 3
	benchSeqBytes   = 200 << 20
	benchTreeFiles  = 5000
	benchTreeFileSz = 1024
)

// BenchmarkBindMount compares file I/O through a bind mount of a shared
// folder (virtiofs) with the same operations on the VM's own disk (the
// container's file system) and on the host's disk, in the same run.
// 9p is not measured: the guest kernel has no 9p.
func BenchmarkBindMount(b *testing.B) {
	e := newEnv(b)
	shared := b.TempDir()
	cfg := fmt.Sprintf("shares:\n  - path: %s\n", shared)
	if err := os.WriteFile(filepath.Join(e.home, "config.yaml"), []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	e.mustBerth(b, "start")
	e.buildBusyboxImage(b, filesImage)
	prepareBenchFiles(b, shared)
	id := strings.TrimSpace(e.mustDocker(b, "run", "-d", "--privileged", "-v", shared+":/s", filesImage, "sleep", "36000"))
	defer e.mustDocker(b, "rm", "-f", id)
	// The VM-disk copy of the inputs, made once.
	e.mustDocker(b, "exec", id, "sh", "-c", "mkdir -p /local && cp /s/r.bin /local/r.bin && cp /s/tree.tar /tree.tar && sync")
	hostDir := b.TempDir()
	if out, err := exec.Command("sh", "-c", "cp "+shared+"/r.bin "+shared+"/tree.tar "+hostDir+"/").CombinedOutput(); err != nil {
		b.Fatalf("%v: %s", err, out)
	}
	for _, op := range fileOps {
		var hosts, vmDisks, binds []time.Duration
		for range benchFileRuns {
			hosts = append(hosts, hostTime(b, op.clean, op.cmd, hostDir, hostDir+"/tree.tar"))
			vmDisks = append(vmDisks, guestTime(b, e, id, op.clean, op.cmd, "/local", "/tree.tar"))
			binds = append(binds, guestTime(b, e, id, op.clean, op.cmd, "/s", "/tree.tar"))
		}
		b.Logf("%-16s runs: virtiofs %v, VM disk %v, host %v", op.name, binds, vmDisks, hosts)
		host, vmDisk, bind := median(hosts), median(vmDisks), median(binds)
		unit, work := "MB/s", float64(benchSeqBytes)/1e6
		if strings.HasPrefix(op.name, "tree") {
			unit, work = "files/s", benchTreeFiles
		}
		b.ReportMetric(work/bind.Seconds(), op.name+"-virtiofs-"+unit)
		b.ReportMetric(work/vmDisk.Seconds(), op.name+"-vmdisk-"+unit)
		b.ReportMetric(work/host.Seconds(), op.name+"-host-"+unit)
		b.ReportMetric(vmDisk.Seconds()/bind.Seconds(), op.name+"-virtiofs/vmdisk")
		b.ReportMetric(host.Seconds()/bind.Seconds(), op.name+"-virtiofs/host")
		b.Logf("%-16s virtiofs %8.2fs   VM disk %8.2fs   host %8.3fs", op.name, bind.Seconds(), vmDisk.Seconds(), host.Seconds())
	}
}

// prepareBenchFiles writes the read input and the tarball of small files.
func prepareBenchFiles(b *testing.B, dir string) {
	buf := make([]byte, benchSeqBytes)
	rand.Read(buf)
	if err := os.WriteFile(dir+"/r.bin", buf, 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(dir + "/tree.tar")
	if err != nil {
		b.Fatal(err)
	}
	tw := tar.NewWriter(f)
	body := make([]byte, benchTreeFileSz)
	for i := range benchTreeFiles {
		if i%100 == 0 {
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: fmt.Sprintf("d%02d/", i/100), Mode: 0o755})
		}
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d%02d/f%04d", i/100, i), Mode: 0o644, Size: int64(len(body))})
		tw.Write(body)
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

func hostTime(b *testing.B, clean, cmd, dir, tarball string) time.Duration {
	if clean != "" {
		exec.Command("rm", "-rf", dir+"/"+clean).Run()
	}
	exec.Command("sync").Run()
	t0 := time.Now()
	c := exec.Command("sh", "-c", cmd)
	c.Env = append(os.Environ(), "D="+dir, "T="+tarball)
	if out, err := c.CombinedOutput(); err != nil {
		b.Fatalf("host %s: %v: %s", cmd, err, out)
	}
	return time.Since(t0)
}

var realRE = regexp.MustCompile(`real\s+(?:(\d+)m\s*)?([\d.]+)s`)

// guestTime runs a command in the container and reads the time the
// guest measured, without docker exec's own overhead. The guest's page
// cache is dropped first, so reads come from the disk or the host.
func guestTime(b *testing.B, e *env, id, clean, cmd, dir, tarball string) time.Duration {
	prep := "sync; echo 3 > /proc/sys/vm/drop_caches"
	if clean != "" {
		prep = "rm -rf " + dir + "/" + clean + "; " + prep
	}
	e.mustDocker(b, "exec", id, "sh", "-c", prep)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	script := fmt.Sprintf("export D=%s T=%s; time sh -c '%s'", dir, tarball, cmd)
	out, err := e.docker(ctx, nil, "exec", id, "sh", "-c", script)
	if err != nil {
		b.Fatalf("guest %s: %v: %s", cmd, err, out)
	}
	m := realRE.FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("no time in %q", out)
	}
	mins, _ := strconv.Atoi(m[1])
	secs, _ := strconv.ParseFloat(m[2], 64)
	return time.Duration((float64(mins)*60 + secs) * float64(time.Second))
}
