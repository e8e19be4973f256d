package bridge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func seedRecorded(f *testing.F, bodyOnly bool) {
	files, _ := filepath.Glob("testdata/windows-cli/*.http")
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if bodyOnly {
			_, raw, _ = bytes.Cut(raw, []byte("\r\n\r\n"))
		}
		f.Add(raw)
	}
}

// FuzzRewriteCreate: any body either comes back byte for byte, or as
// valid JSON that a second pass leaves alone, or is refused with a
// PathError; it never panics.
func FuzzRewriteCreate(f *testing.F) {
	seedRecorded(f, true)
	f.Add([]byte(`{"HostConfig":{"Mounts":[{"Type":"bind","Source":"//c/x"},{"Source":"E:","Type":"bind","Source":"C:\\data"}]}}`))
	f.Add([]byte(`{"HostConfig":{"Binds":[1,null,{"a":[]},"C:\\data:/x"]}}`))
	p := testPaths()
	f.Fuzz(func(t *testing.T, body []byte) {
		out, changed, err := RewriteCreate(body, p)
		if err != nil {
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if !changed {
			if !bytes.Equal(out, body) {
				t.Fatal("unchanged body differs")
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("rewrote %q into invalid JSON %q", body, out)
		}
		again, changed2, err := RewriteCreate(out, p)
		if err != nil || changed2 || !bytes.Equal(again, out) {
			t.Fatalf("second pass changed %q: %q %v", out, again, err)
		}
	})
}

// FuzzForward: without paths the request direction is a byte-exact copy
// of any input; with them, a stream without a create request is too.
func FuzzForward(f *testing.F) {
	seedRecorded(f, false)
	f.Add([]byte("GET /_ping HTTP/1.1\r\n\r\nPOST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("POST /exec/x/start HTTP/1.1\r\nUpgrade: tcp\r\nContent-Length: 1\r\n\r\n{garbage"))
	// Hostile framing: bad chunk sizes, two lengths, both framings, a
	// body cut short, a header that never ends.
	f.Add([]byte("POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc"))
	f.Add([]byte("POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n\r\n"))
	f.Add([]byte("POST /build HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"))
	f.Add([]byte("POST /containers/create HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"))
	f.Add([]byte("POST /containers/create HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"))
	f.Add([]byte("POST /containers/create HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"HostConfig\""))
	f.Add([]byte("GET /_ping HTTP/1.1\r\nX-A: b\r\nX-A: b\r\nX-A: b"))
	f.Add([]byte("\r\n\n\r\nGET /_ping HTTP/1.0\n\n"))
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, in []byte) {
		defer time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("forwarding %q takes more than 5s", in)) }).Stop()
		var out, reply bytes.Buffer
		fw := &forwarder{log: log}
		err := fw.run(&out, bufio.NewReader(bytes.NewReader(in)), &reply)
		// A body cut short or badly framed ends the connection: what went
		// through is then a prefix of the input.
		if err == nil && !bytes.Equal(in, out.Bytes()) || !bytes.HasPrefix(in, out.Bytes()) || reply.Len() > 0 {
			t.Fatalf("forwarded %q of %q (err %v)", out.Bytes(), in, err)
		}
		out.Reset()
		fw = &forwarder{paths: testPaths(), log: log}
		_ = fw.run(&out, bufio.NewReader(bytes.NewReader(in)), &reply)
		if !strings.Contains(strings.ToLower(string(in)), "containers/create") && !bytes.HasPrefix(in, out.Bytes()) {
			t.Fatalf("a stream without a create changed")
		}
	})
}

// FuzzResponses: the engine's direction through a waking bridge is a
// byte-exact copy of any input, whatever framing it has or lacks, and no
// request stays in flight once the connection ended.
func FuzzResponses(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOKHTTP/1.1 204 No Content\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\nrest"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"))
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\n\r\nraw stream"))
	f.Add([]byte("HTTP/1.1 200 OK\r\n\r\nuntil the end"))
	f.Add([]byte("garbage\r\n\r\nmore"))
	f.Fuzz(func(t *testing.T, in []byte) {
		w := &recWaker{}
		tr := newInflight(context.Background(), w)
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
			req, _ := http.NewRequest(m, "http://docker/x", nil)
			if err := tr.request(req); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		err := tr.responses(&out, bufio.NewReader(bytes.NewReader(in)))
		if err != nil || !bytes.Equal(in, out.Bytes()) {
			t.Fatalf("passed %q of %q (err %v)", out.Bytes(), in, err)
		}
		tr.close()
		if _, busy := w.state(); busy != 0 {
			t.Fatalf("%d requests in flight after the end", busy)
		}
	})
}

// FuzzResolve: a bind source the bridge lets through lands, in the guest,
// inside a share or a path of the VM's own (or is the VM's root itself,
// or a named volume); anything else is refused with a PathError naming
// the source.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		`C:\data\app`, `c:\DATA\app`, `C:/data/app/`, `//c/data/app`, `E:`, `e:\`, `C:\data\..\Windows`,
		`C:\database`, `\\server\share\x`, "/home/dev/app", "/home/dev/../../etc", "/var/run/docker.sock",
		"/proc/sys", "/", "//", "/c/data", "named", `C:\Users\dev\..\..\x`, "/home/dev/./../dev2",
	} {
		f.Add(s)
	}
	p := testPaths()
	f.Fuzz(func(t *testing.T, src string) {
		got, err := p.resolve(src)
		if err != nil {
			var pe *PathError
			if !errors.As(err, &pe) || pe.Source != src || !strings.Contains(err.Error(), src) {
				t.Fatalf("resolve(%q): %v; want a PathError naming it", src, err)
			}
			return
		}
		if !strings.HasPrefix(got, "/") {
			if got != src {
				t.Fatalf("resolve(%q) = %q: a named volume changed", src, got)
			}
			return
		}
		clean := path.Clean(got)
		if clean == "/" {
			if got != src {
				t.Fatalf("resolve(%q) = %q: only a bind of the VM's root itself is its root", src, got)
			}
			return
		}
		for _, s := range p.Shares {
			if within(clean, s.GuestPath) {
				return
			}
		}
		for _, g := range p.GuestOnly {
			if within(clean, g) {
				return
			}
		}
		t.Fatalf("resolve(%q) = %q: outside every share and VM path", src, got)
	})
}
