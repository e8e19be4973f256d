package bridge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recWaker records what the bridge told it, in order with the engine's
// dials (the test's dialer appends "dial").
type recWaker struct {
	mu      sync.Mutex
	log     []string
	busy    int
	wakeErr error
}

func (w *recWaker) Wake(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log = append(w.log, "wake")
	return w.wakeErr
}

func (w *recWaker) Busy() func() {
	w.mu.Lock()
	w.busy++
	w.log = append(w.log, "busy")
	w.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			w.mu.Lock()
			w.busy--
			w.mu.Unlock()
		})
	}
}

func (w *recWaker) note(s string) {
	w.mu.Lock()
	w.log = append(w.log, s)
	w.mu.Unlock()
}

func (w *recWaker) state() (string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.log, " "), w.busy
}

// waitBusy waits until n requests keep the VM awake.
func (w *recWaker) waitBusy(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		log, busy := w.state()
		if busy == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests in flight, want %d (told: %s)", busy, n, log)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wakingEngine is an engine stand-in with the kinds of response whose end
// the bridge must find: a ping (length), HEAD, 204, a chunked body, a build
// that answers when the test lets it, an event stream, a body ended by
// the connection, and everything in fakeEngine's attach.
func wakingEngine(t *testing.T, release <-chan struct{}) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "engine.sock")
	l := listenUnix(t, sock)
	mux := http.NewServeMux()
	mux.HandleFunc("/_ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.47")
		w.Header().Set("Content-Length", "2")
		if r.Method == http.MethodGet {
			io.WriteString(w, "OK")
		}
	})
	mux.HandleFunc("/v1.47/containers/x/stop", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/v1.47/images/create", func(w http.ResponseWriter, r *http.Request) {
		// A pull: progress, flushed line by line, chunked.
		for i := range 3 {
			fmt.Fprintf(w, "{\"status\":\"layer %d\"}\n", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/v1.47/build", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		io.WriteString(w, "{\"stream\":\"Step 1/1\"}\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "{\"stream\":\"done\"}\n")
	})
	mux.HandleFunc("/v1.47/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "{\"Type\":\"container\"}\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	mux.HandleFunc("/v1.47/containers/x/export", func(w http.ResponseWriter, r *http.Request) {
		// No length, not chunked: the body ends with the connection.
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\n\r\nall of it")
		buf.Flush()
		conn.Close()
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func startWakingBridge(t *testing.T, engine string, w *recWaker) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln := listenUnix(t, sock)
	b := New(func(ctx context.Context) (net.Conn, error) {
		w.note("dial")
		var d net.Dialer
		return d.DialContext(ctx, "unix", engine)
	}, slog.New(slog.DiscardHandler)).WithWaker(w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return sock
}

// Through a bridge with a waker, everything passes as before: answers,
// a large chunked upload, a hijacked stream and its half-close.
func TestWakingBridgeCarriesEverything(t *testing.T) {
	w := &recWaker{}
	sock := startWakingBridge(t, fakeEngine(t), w)
	c := unixClient(sock)
	defer c.CloseIdleConnections()
	checkPing(t, c)
	checkUpload(t, c, 16<<20, 1<<20)
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	checkHalfClose(t, conn)
}

// Each connection wakes the VM before the engine is dialled; each request
// wakes it before it is sent, and keeps it awake until its response ended,
// not while the connection idles.
func TestWakingBridgeWakesAndTracksRequests(t *testing.T) {
	release := make(chan struct{})
	w := &recWaker{}
	sock := startWakingBridge(t, wakingEngine(t, release), w)
	c := unixClient(sock)
	defer c.CloseIdleConnections()

	checkPingIn(t, c, http.MethodGet)
	if log, busy := w.state(); log != "wake dial wake busy" || busy != 0 {
		t.Fatalf("after a ping on a new connection: told %q with %d in flight; want \"wake dial wake busy\" and none", log, busy)
	}
	// The same connection (kept alive) for every kind of ending.
	checkPingIn(t, c, http.MethodHead)
	for _, r := range []struct{ method, path, want string }{
		{http.MethodPost, "/v1.47/containers/x/stop", ""},
		{http.MethodPost, "/v1.47/images/create?fromImage=busybox", "{\"status\":\"layer 0\"}\n{\"status\":\"layer 1\"}\n{\"status\":\"layer 2\"}\n"},
	} {
		req, _ := http.NewRequest(r.method, "http://docker"+r.path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != r.want {
			t.Fatalf("%s %s: %q, want %q", r.method, r.path, b, r.want)
		}
		w.waitBusy(t, 0)
	}
	if log, _ := w.state(); strings.Count(log, "dial") != 1 {
		t.Fatalf("the requests did not share one connection: %s", log)
	}

	// A build keeps it awake while it runs, though its answer has begun.
	built := make(chan string, 1)
	go func() {
		resp, err := c.Post("http://docker/v1.47/build", "application/x-tar", strings.NewReader("context"))
		if err != nil {
			built <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		built <- string(b)
	}()
	time.Sleep(100 * time.Millisecond)
	w.waitBusy(t, 1)

	// An event stream does not, though it is open.
	ev, err := c.Get("http://docker/v1.47/events")
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(ev.Body).ReadString('\n')
	if line != "{\"Type\":\"container\"}\n" {
		t.Fatalf("event %q", line)
	}
	w.waitBusy(t, 1) // the build's, only
	close(release)
	if b := <-built; b != "{\"stream\":\"Step 1/1\"}\n{\"stream\":\"done\"}\n" {
		t.Fatalf("build answered %q", b)
	}
	ev.Body.Close()
	w.waitBusy(t, 0)
}

// A body that ends with the connection (and any request still without an
// answer then) stops counting when the connection ends.
func TestWakingBridgeBodyUntilClose(t *testing.T) {
	w := &recWaker{}
	sock := startWakingBridge(t, wakingEngine(t, make(chan struct{})), w)
	c := unixClient(sock)
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://docker/v1.47/containers/x/export")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "all of it" {
		t.Fatalf("export %q", b)
	}
	w.waitBusy(t, 0)
}

// A VM that cannot be resumed: the client gets the engine's kind of error
// with the reason, not a hang.
func TestWakingBridgeResumeFails(t *testing.T) {
	w := &recWaker{}
	sock := startWakingBridge(t, wakingEngine(t, make(chan struct{})), w)
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The connection woke it; the monitor fails before the request.
	time.Sleep(50 * time.Millisecond)
	w.mu.Lock()
	w.wakeErr = errors.New("QEMU cont: the monitor is gone")
	w.mu.Unlock()
	io.WriteString(conn, "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "could not resume the machine's VM: QEMU cont: the monitor is gone") {
		t.Fatalf("%s %s", resp.Status, b)
	}
}

func checkPingIn(t *testing.T, c *http.Client, method string) {
	t.Helper()
	resp, err := c.Do(&http.Request{Method: method, URL: &url.URL{Scheme: "http", Host: "docker", Path: "/_ping"}, Header: http.Header{}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := "OK"
	if method == http.MethodHead {
		want = ""
	}
	if string(b) != want || resp.Header.Get("Api-Version") != "1.47" {
		t.Fatalf("%s /_ping: %q %v", method, b, resp.Header)
	}
}

func TestWatches(t *testing.T) {
	for target, want := range map[string]bool{
		"GET /events":                                   true,
		"GET /v1.47/events?filters=x":                   true,
		"GET /v1.47/containers/abc/logs?follow=1":       true,
		"GET /v1.47/containers/abc/logs?follow=true":    true,
		"GET /v1.47/containers/abc/logs?tail=10":        false,
		"GET /v1.47/containers/abc/logs?follow=0":       false,
		"GET /v1.47/containers/abc/stats":               true,
		"GET /v1.47/containers/abc/stats?stream=false":  false,
		"POST /v1.47/containers/abc/attach?stream=1":    true,
		"GET /v1.47/containers/abc/attach/ws":           true,
		"POST /v1.47/build":                             false,
		"POST /v1.47/images/create":                     false,
		"POST /v1.47/exec/abc/start":                    false,
		"GET /v1.47/containers/json":                    false,
		"POST /v1.47/events":                            false,
		"GET /v1.47/containers/events/logs?follow=true": true,
	} {
		method, target, _ := strings.Cut(target, " ")
		req, err := http.NewRequest(method, "http://docker"+target, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := Watches(req); got != want {
			t.Errorf("Watches(%s %s) = %v, want %v", method, target, got, want)
		}
	}
}
