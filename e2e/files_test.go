package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/sockets"
)

const filesImage = "berth-e2e/files:1"

// shareDirs are the host folders TestFiles shares with the VM.
type shareDirs struct{ rw, ro, win, outside string }

// writeShareConfig shares a read-write folder, a read-only one and one that
// Windows CLIs name C:\data, under a fresh directory.
func writeShareConfig(t testing.TB, e *env) shareDirs {
	t.Helper()
	base := t.TempDir()
	d := shareDirs{rw: base + "/rw", ro: base + "/ro", win: base + "/win", outside: base + "/outside"}
	for _, p := range []string{d.rw, d.ro, d.win, d.outside} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf("shares:\n  - path: %s\n  - path: %s\n    readOnly: true\n  - path: %s\n    windowsPath: C:\\data\n", d.rw, d.ro, d.win)
	if err := os.WriteFile(filepath.Join(e.home, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFiles: shared folders, Windows bind sources through the socket, the
// image workflow and disk reclaim, on one machine, in order.
func TestFiles(t *testing.T) {
	e := newEnv(t)
	d := writeShareConfig(t, e)
	t0 := time.Now()
	e.mustBerth(t, "start")
	t.Logf("start: %s", time.Since(t0).Round(time.Second))

	t.Run("status names virtiofs and the shares", func(t *testing.T) {
		var st struct {
			FileSharing string   `json:"fileSharing"`
			Shares      []string `json:"shares"`
		}
		if err := json.Unmarshal([]byte(e.mustBerth(t, "status", "--json")), &st); err != nil {
			t.Fatal(err)
		}
		if st.FileSharing != "virtiofs" || len(st.Shares) != 3 || st.Shares[1] != d.ro+" (read-only)" {
			t.Fatalf("status: %+v", st)
		}
		if out := e.mustBerth(t, "status"); !strings.Contains(out, "virtiofs: "+d.rw) {
			t.Fatalf("berth status:\n%s", out)
		}
	})
	e.buildBusyboxImage(t, filesImage)

	t.Run("read-only bind", func(t *testing.T) {
		writeFile(t, d.rw+"/page.html", "v1")
		out := e.mustDocker(t, "run", "--rm", "-v", d.rw+":/usr/share/html:ro", filesImage, "sh", "-c",
			"cat /usr/share/html/page.html; echo x > /usr/share/html/new 2>&1 || echo REFUSED")
		if !strings.Contains(out, "v1") || !strings.Contains(out, "Read-only file system") {
			t.Fatalf("ro bind: %q", out)
		}
		readOnlyShare(t, e, d)
	})

	t.Run("read-write bind, edits on both sides", func(t *testing.T) { editsBothWays(t, e, d, 0, nil) })

	t.Run("a path outside the shares is refused", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := e.docker(ctx, nil, "run", "--rm", "-v", d.outside+":/o", filesImage, "true")
		if err == nil || !strings.Contains(out, "bind source path "+d.outside+" is not shared") || !strings.Contains(out, "shares") {
			t.Fatalf("outside path: %v %q", err, out)
		}
		out, err = e.docker(ctx, nil, "run", "--rm", "--mount", "type=bind,source="+d.outside+",target=/o", filesImage, "true")
		if err == nil || !strings.Contains(out, "not shared") {
			t.Fatalf("outside path with --mount: %v %q", err, out)
		}
		// Named volumes and the engine's socket are not host paths.
		e.mustDocker(t, "run", "--rm", "-v", "anyname:/v", "-v", "/var/run/docker.sock:/s", filesImage, "test", "-S", "/s")
	})

	t.Run("Windows create bodies", func(t *testing.T) {
		if err := os.MkdirAll(d.win+"/app", 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, d.win+"/app/index.html", "served from C:\\data\\app")
		// What the docker CLI on Windows sends for
		// `docker run -v C:\data\app:/usr/share/nginx/html:ro` and
		// `--mount type=bind,source=c:/data/app,target=/m`.
		body := `{"Image":"` + filesImage + `","Cmd":["sh","-c","cat /usr/share/nginx/html/index.html /m/index.html /g/index.html"],` +
			`"HostConfig":{"Binds":["C:\\data\\app:/usr/share/nginx/html:ro","//c/data/app:/g"],` +
			`"Mounts":[{"Type":"bind","Source":"c:/data/app","Target":"/m","ReadOnly":true}]}}`
		code, resp := postSocket(t, e, "/v1.45/containers/create?name=fromwindows", body)
		if code != http.StatusCreated {
			t.Fatalf("create: %d %s", code, resp)
		}
		defer e.mustDocker(t, "rm", "-f", "fromwindows")
		e.mustDocker(t, "start", "-a", "fromwindows")
		out := e.mustDocker(t, "logs", "fromwindows")
		if strings.Count(out, "served from C:\\data\\app") != 3 {
			t.Fatalf("container output: %q", out)
		}
		code, resp = postSocket(t, e, "/v1.24/containers/create", `{"Image":"`+filesImage+`","HostConfig":{"Binds":["D:\\elsewhere:/x"]}}`)
		if code != http.StatusBadRequest || !strings.Contains(resp, `D:\\elsewhere is not shared`) {
			t.Fatalf("unshared drive: %d %s", code, resp)
		}
	})

	t.Run("image workflow", func(t *testing.T) { imageWorkflow(t, e) })

	t.Run("named volume survives a restart", func(t *testing.T) {
		e.mustDocker(t, "volume", "create", "keep")
		e.mustDocker(t, "run", "--rm", "-v", "keep:/v", filesImage, "sh", "-c", "echo kept > /v/f")
		e.mustBerth(t, "stop")
		e.mustBerth(t, "start")
		if out := e.mustDocker(t, "volume", "ls", "--format", "{{.Name}}"); !strings.Contains(out, "keep") {
			t.Fatalf("volume ls after restart: %q", out)
		}
		if out := e.mustDocker(t, "run", "--rm", "-v", "keep:/v", filesImage, "cat", "/v/f"); out != "kept\n" {
			t.Fatalf("volume content after restart: %q", out)
		}
		// The shares are back too.
		writeFile(t, d.rw+"/after", "after restart")
		if out := e.mustDocker(t, "run", "--rm", "-v", d.rw+":/d", filesImage, "cat", "/d/after"); out != "after restart" {
			t.Fatalf("bind after restart: %q", out)
		}
	})

	t.Run("deleted data gives the disk space back", func(t *testing.T) {
		disk := filepath.Join(e.machineDir(), "data.img")
		before := allocated(t, disk)
		e.mustDocker(t, "volume", "create", "big")
		e.mustDocker(t, "run", "--rm", "-v", "big:/v", filesImage, "dd", "if=/dev/urandom", "of=/v/f", "bs=1M", "count=500")
		full := allocated(t, disk)
		if full < before+400<<20 {
			t.Fatalf("data disk grew from %d to only %d bytes after writing 500 MB", before, full)
		}
		e.mustDocker(t, "volume", "rm", "big")
		var now int64
		waitFor(t, "the data disk to shrink", 2*time.Minute, func() bool {
			now = allocated(t, disk)
			return now < full-400<<20
		})
		t.Logf("data.img allocated: %d MiB before, %d MiB with the volume, %d MiB after removing it", before>>20, full>>20, now>>20)
	})
}

// readOnlyShare: a share configured read-only stays so even for a
// read-write bind.
func readOnlyShare(t *testing.T, e *env, d shareDirs) {
	t.Helper()
	writeFile(t, d.ro+"/f", "ro-share")
	out := e.mustDocker(t, "run", "--rm", "-v", d.ro+":/d", filesImage, "sh", "-c", "cat /d/f; touch /d/g 2>&1; true")
	if !strings.Contains(out, "ro-share") || !strings.Contains(out, "Read-only file system") {
		t.Fatalf("read-only share: %q", out)
	}
	if _, err := os.Stat(d.ro + "/g"); err == nil {
		t.Fatal("a file appeared in the read-only share")
	}
}

// editsBothWays runs a container with the read-write share at /app: each
// side sees what the other wrote, what the container makes is the host
// user's, and a removal on the host shows in the container. settle is how
// long the guest may take to see a change on the host (0: at once); more,
// when set, runs with the container before it is removed.
func editsBothWays(t *testing.T, e *env, d shareDirs, settle time.Duration, more func(id string)) {
	t.Helper()
	id := strings.TrimSpace(e.mustDocker(t, "run", "-d", "-v", d.rw+":/app", filesImage, "sleep", "3600"))
	defer e.mustDocker(t, "rm", "-f", id)
	// sees waits up to settle for the container to see want in file.
	sees := func(what string, cond func(out string) bool, args ...string) {
		t.Helper()
		deadline := time.Now().Add(settle)
		for {
			out, _ := e.docker(context.Background(), nil, append([]string{"exec", id}, args...)...)
			if cond(out) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the container sees %q", what, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for i := range 3 {
		want := fmt.Sprintf("host edit %d", i)
		writeFile(t, d.rw+"/index.html", want)
		sees("the host wrote "+want, func(out string) bool { return out == want }, "cat", "/app/index.html")
		ctr := fmt.Sprintf("container edit %d", i)
		e.mustDocker(t, "exec", id, "sh", "-c", "printf '"+ctr+"' > /app/index.html && mkdir -p /app/made/deep")
		if b, _ := os.ReadFile(d.rw + "/index.html"); string(b) != ctr {
			t.Fatalf("host sees %q after the container wrote %q", b, ctr)
		}
	}
	// Created in the container as root: the host user's on the host.
	for _, p := range []string{d.rw + "/index.html", d.rw + "/made/deep"} {
		uid, gid := owner(t, p)
		if uid != os.Getuid() || gid != os.Getgid() {
			t.Errorf("%s is owned by %d:%d on the host, want the host user %d:%d", p, uid, gid, os.Getuid(), os.Getgid())
		}
	}
	if more != nil {
		more(id)
	}
	// Removing on the host is seen too.
	os.Remove(d.rw + "/index.html")
	sees("removed on the host", func(out string) bool { return !strings.Contains(out, "index.html") }, "ls", "/app")
}

// postSocket posts JSON to the machine's docker socket, as a client of
// another OS would.
func postSocket(t testing.TB, e *env, path, body string) (int, string) {
	t.Helper()
	sock := filepath.Join(e.machineDir(), "docker.sock")
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return sockets.Dial(ctx, sock)
	}}, Timeout: 2 * time.Minute}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, "http://docker"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Docker-Client/28.2.2 (windows)")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// imageWorkflow is the seed's image and container workflow through our
// socket, step by step.
func imageWorkflow(t *testing.T, e *env) {
	t.Run("create, ps -a, start, stop, rm", func(t *testing.T) {
		id := strings.TrimSpace(e.mustDocker(t, "create", "--name", "wf", filesImage, "sleep", "3600"))
		if out := e.mustDocker(t, "ps", "-a", "--filter", "name=wf", "--format", "{{.Status}}"); !strings.HasPrefix(out, "Created") {
			t.Fatalf("ps -a after create: %q", out)
		}
		e.mustDocker(t, "start", "wf")
		if out := e.mustDocker(t, "ps", "--filter", "name=wf", "--format", "{{.ID}}"); !strings.HasPrefix(id, strings.TrimSpace(out)) || strings.TrimSpace(out) == "" {
			t.Fatalf("ps after start: %q (id %s)", out, id)
		}
	})
	t.Run("exec", func(t *testing.T) {
		if out := e.mustDocker(t, "exec", "wf", "sh", "-c", "echo $((6*7))"); out != "42\n" {
			t.Fatalf("exec: %q", out)
		}
	})
	t.Run("exec -it through a pty", func(t *testing.T) {
		if out := e.dockerInPTY(t, "if [ -t 0 ]; then echo TTY-$((6*7)); fi; exit\r", "exec", "-it", "wf", "sh"); !strings.Contains(out, "TTY-42") {
			t.Fatalf("exec -it output: %q", out)
		}
	})
	t.Run("cp both ways", func(t *testing.T) {
		src := t.TempDir() + "/folder"
		os.MkdirAll(src+"/sub", 0o755)
		writeFile(t, src+"/a.txt", "A")
		writeFile(t, src+"/sub/b.txt", "B")
		e.mustDocker(t, "cp", src, "wf:/copied")
		if out := e.mustDocker(t, "exec", "wf", "cat", "/copied/a.txt", "/copied/sub/b.txt"); out != "AB" {
			t.Fatalf("folder copied in: %q", out)
		}
		e.mustDocker(t, "exec", "wf", "sh", "-c", "echo made-inside > /copied/sub/c.txt")
		dst := t.TempDir()
		e.mustDocker(t, "cp", "wf:/copied", dst+"/back")
		if b, _ := os.ReadFile(dst + "/back/sub/c.txt"); string(b) != "made-inside\n" {
			t.Fatalf("copied out: %q", b)
		}
	})
	t.Run("commit", func(t *testing.T) {
		e.mustDocker(t, "commit", "wf", "berth-e2e/committed:1")
		if out := e.mustDocker(t, "run", "--rm", "berth-e2e/committed:1", "cat", "/copied/sub/c.txt"); out != "made-inside\n" {
			t.Fatalf("committed image: %q", out)
		}
	})
	t.Run("stop, rm", func(t *testing.T) {
		e.mustDocker(t, "stop", "-t", "1", "wf")
		e.mustDocker(t, "rm", "wf")
		if out := e.mustDocker(t, "ps", "-a", "--filter", "name=wf", "-q"); strings.TrimSpace(out) != "" {
			t.Fatalf("ps -a after rm: %q", out)
		}
	})
	t.Run("build with COPY of a 100 MB context", func(t *testing.T) {
		dir := t.TempDir()
		big := make([]byte, 100<<20)
		rand.Read(big)
		sum := sha256.Sum256(big)
		if err := os.WriteFile(dir+"/big.bin", big, 0o644); err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir+"/Dockerfile", "FROM "+filesImage+"\nCOPY big.bin /data/big.bin\nRUN sha256sum /data/big.bin > /data/sum\n")
		t0 := time.Now()
		e.mustDocker(t, "build", "-t", "berth-e2e/built:1", dir)
		t.Logf("build with a 100 MB context: %s", time.Since(t0).Round(time.Second))
		out := e.mustDocker(t, "run", "--rm", "berth-e2e/built:1", "cat", "/data/sum")
		if !strings.HasPrefix(out, hex.EncodeToString(sum[:])) {
			t.Fatalf("checksum in the image %q, want %x", out, sum)
		}
	})
	t.Run("save, rmi, load", func(t *testing.T) {
		tar := t.TempDir() + "/x.tar"
		e.mustDocker(t, "save", "-o", tar, "berth-e2e/committed:1")
		e.mustDocker(t, "rmi", "berth-e2e/committed:1")
		if _, err := e.docker(context.Background(), nil, "image", "inspect", "berth-e2e/committed:1"); err == nil {
			t.Fatal("image still there after rmi")
		}
		if out := e.mustDocker(t, "load", "-i", tar); !strings.Contains(out, "berth-e2e/committed:1") {
			t.Fatalf("load: %q", out)
		}
		e.mustDocker(t, "image", "inspect", "berth-e2e/committed:1")
		e.mustDocker(t, "rmi", "berth-e2e/committed:1", "berth-e2e/built:1")
	})
	t.Run("docker stop $(docker ps -q)", func(t *testing.T) {
		for range 2 {
			e.mustDocker(t, "run", "-d", filesImage, "sleep", "3600")
		}
		cmd := exec.Command("sh", "-c", "docker stop -t 1 $(docker ps -q)")
		cmd.Env = e.environ()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		// The engine's list can lag its stop under emulation by a moment.
		var out string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
			if out = strings.TrimSpace(e.mustDocker(t, "ps", "-q")); out == "" {
				break
			}
		}
		if out != "" {
			t.Fatalf("still running: %q\n%s", out, e.mustDocker(t, "ps", "-a"))
		}
		e.mustDocker(t, "container", "prune", "-f")
	})
}
