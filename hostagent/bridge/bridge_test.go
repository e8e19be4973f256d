package bridge

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/wine"
)

// fakeEngine is an HTTP server on a unix socket standing in for dockerd:
// /_ping, an upload that hashes its body, and a hijacked echo stream that
// reports when the client half-closes.
func fakeEngine(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "engine.sock")
	fakeEngineOn(t, listenUnix(t, sock))
	return sock
}

// listenUnix listens on a unix socket; Wine has none, so there the test
// skips.
func listenUnix(t *testing.T, sock string) net.Listener {
	t.Helper()
	l, err := net.Listen("unix", sock)
	if err != nil {
		wine.Skip(t, "no AF_UNIX sockets: "+err.Error())
		t.Fatal(err)
	}
	return l
}

// fakeEngineOn serves the engine stand-in on l until the test ends.
func fakeEngineOn(t *testing.T, l net.Listener) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/_ping", func(w http.ResponseWriter, r *http.Request) {
		// What dockerd answers a ping with, headers included.
		w.Header().Set("Api-Version", "1.47")
		w.Header().Set("Ostype", "linux")
		w.Header().Set("Docker-Experimental", "false")
		w.Header().Set("Server", "Docker/27.0 (linux)")
		io.WriteString(w, "OK")
	})
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		fmt.Fprintf(w, "%d %s", n, hex.EncodeToString(h.Sum(nil)))
	})
	mux.HandleFunc("/attach", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		io.WriteString(conn, "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
		// Echo upper-cased until the client closes its write half, then say so.
		data, _ := io.ReadAll(buf)
		io.WriteString(conn, strings.ToUpper(string(data))+"|EOF")
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
}

func startBridge(t *testing.T, engine string) (string, context.CancelFunc, chan error) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln := listenUnix(t, sock)
	b := New(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", engine)
	}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ln) }()
	return sock, cancel, done
}

func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
}

func TestBridgePingAndUpload(t *testing.T) {
	sock, cancel, _ := startBridge(t, fakeEngine(t))
	defer cancel()
	c := unixClient(sock)
	checkPing(t, c)
	// 64 MiB, chunked (unknown length), like a build context.
	checkUpload(t, c, 64<<20, 1<<20)
}

// checkPing pings the engine stand-in through c, and checks its answer
// and the headers the docker CLI reads came back.
func checkPing(t *testing.T, c *http.Client) {
	t.Helper()
	resp, err := c.Get("http://docker/_ping")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "OK" || resp.Header.Get("Api-Version") != "1.47" || resp.Header.Get("Ostype") != "linux" {
		t.Fatalf("ping: %q %v", b, resp.Header)
	}
}

// checkUpload posts size bytes, chunked (no length), in chunks of chunk
// bytes, and checks by hash that the engine stand-in saw every one.
func checkUpload(t *testing.T, c *http.Client, size, chunk int) {
	t.Helper()
	pr, pw := io.Pipe()
	h := sha256.New()
	go func() {
		buf := make([]byte, chunk)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		for range size / chunk {
			h.Write(buf)
			pw.Write(buf)
		}
		pw.Close()
	}()
	resp, err := c.Post("http://docker/upload", "application/x-tar", pr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("%d %s", size/chunk*chunk, hex.EncodeToString(h.Sum(nil))); string(b) != want {
		t.Fatalf("upload: the engine stand-in saw %q, want %q", b, want)
	}
}

// checkHalfClose hijacks an attach stream on conn, writes to it and
// closes its write half, as `docker run -i` does at the end of stdin: the
// close must reach the engine stand-in, whose answer still comes back.
func checkHalfClose(t *testing.T, conn net.Conn) {
	t.Helper()
	io.WriteString(conn, "POST /attach HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	r := bufio.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	status, _ := r.ReadString('\n')
	if !strings.Contains(status, "101") {
		t.Fatalf("attach status %q", status)
	}
	for {
		l, _ := r.ReadString('\n')
		if l == "\r\n" || l == "" {
			break
		}
	}
	io.WriteString(conn, "hello stdin")
	cw, ok := conn.(interface{ CloseWrite() error })
	if !ok {
		t.Fatalf("%T has no CloseWrite: a half-close cannot reach the engine", conn)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || string(rest) != "HELLO STDIN|EOF" {
		t.Fatalf("hijacked stream after half-close: %q, %v", rest, err)
	}
}

func TestBridgeHijackHalfClose(t *testing.T) {
	sock, cancel, _ := startBridge(t, fakeEngine(t))
	defer cancel()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	checkHalfClose(t, conn)
}

func TestBridgeEngineDownAndShutdown(t *testing.T) {
	sock, cancel, done := startBridge(t, filepath.Join(t.TempDir(), "nothing.sock"))
	c := unixClient(sock)
	if _, err := c.Get("http://docker/_ping"); err == nil {
		t.Fatal("request through a bridge to a dead engine succeeded")
	}
	// A connection in flight is closed when the bridge stops.
	engine := fakeEngine(t)
	sock2, cancel2, done2 := startBridge(t, engine)
	conn, err := net.Dial("unix", sock2)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "POST /attach HTTP/1.1\r\nHost: docker\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	cancel2()
	select {
	case err := <-done2:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return with a connection in flight")
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("connection not closed cleanly: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("unix", sock2); err == nil {
		t.Fatal("listener still accepting after shutdown")
	}
}
