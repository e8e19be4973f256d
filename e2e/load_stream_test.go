//go:build linux

package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// logsFlood: a container writes 100-byte lines as fast as it can (50 MB
// at a time) for a minute while `docker logs -f` follows it through the
// bridge; the follower gets every line, the last one included.
func logsFlood(t *testing.T, e *env) {
	script := `line=$(head -c 99 /dev/zero | tr '\0' x); end=$(( $(date +%s) + 60 )); n=0; ` +
		`while [ $(date +%s) -lt $end ]; do yes "$line" | head -n 500000; n=$((n+500000)); done; echo "END $n"`
	e.mustDocker(t, "run", "-d", "--name", "flood", probeImage, "sh", "-c", script)
	defer e.docker(context.Background(), nil, "rm", "-f", "flood") //nolint:errcheck // cleanup
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "logs", "-f", "flood")
	cmd.Env = e.environ()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines, bytes, last := countLines(out)
	took := time.Since(t0)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("docker logs -f: %v (after %d lines)", err, lines)
	}
	wrote, ok := strings.CutPrefix(last, "END ")
	n, _ := strconv.Atoi(wrote)
	if !ok || n == 0 {
		t.Fatalf("docker logs -f ended without the container's last line (got %q after %d lines)", last, lines)
	}
	if lines != n+1 {
		t.Errorf("docker logs -f gave %d lines, the container wrote %d", lines, n+1)
	}
	t.Logf("the container wrote %d lines (%.0f MB) in a minute, %.1f MB/s; docker logs -f got them all in %v, %.1f MB/s",
		n, float64(bytes)/1e6, float64(bytes)/1e6/60, took.Round(time.Second), float64(bytes)/1e6/took.Seconds())
}

// countLines reads r to its end: the number of lines, of bytes, and the
// last line.
func countLines(r io.Reader) (lines, bytes int, last string) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		s, err := br.ReadString('\n')
		bytes += len(s)
		if s != "" {
			lines++
			last = strings.TrimSuffix(s, "\n")
		}
		if err != nil {
			return lines, bytes, last
		}
	}
}

// bigContextBuild: `docker build` of a 1 GiB context (a file the image
// copies) through the bridge.
func bigContextBuild(t *testing.T, e *env) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY big /big\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	t0 := time.Now()
	if out, err := e.docker(ctx, nil, "build", "-q", "-t", "berth-big-context", dir); err != nil {
		t.Fatalf("docker build with a 1 GiB context: %v\n%s", err, out)
	}
	took := time.Since(t0)
	size, _ := strconv.ParseInt(strings.TrimSpace(e.mustDocker(t, "image", "inspect", "--format", "{{.Size}}", "berth-big-context")), 10, 64)
	if size < 1<<30 {
		t.Errorf("the image holds %d bytes, want the 1 GiB file", size)
	}
	e.mustDocker(t, "rmi", "berth-big-context")
	t.Logf("docker build of a 1 GiB context: %v (%.0f MB/s)", took.Round(time.Second), float64(1<<30)/1e6/took.Seconds())
}
