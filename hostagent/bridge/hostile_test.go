package bridge

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// endless is a client that never stops sending: head, then body repeated
// for ever. It counts what the bridge read.
type endless struct {
	head, body []byte
	off        int // in head, then in body
	read       int64
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if e.off < len(e.head) {
			c := copy(p[n:], e.head[e.off:])
			e.off += c
			n += c
			continue
		}
		i := (e.off - len(e.head)) % len(e.body)
		c := copy(p[n:], e.body[i:])
		e.off += c
		n += c
	}
	e.read += int64(n)
	return n, nil
}

// engineSide is the engine's end of the bridge: it takes what the bridge
// sends until it has had enough, and records the most the bridge held,
// read from the client but not yet sent on, at any time.
type engineSide struct {
	src     *endless
	written int64
	enough  int64
	held    int64
}

var errEnough = errors.New("the engine has had enough")

func (e *engineSide) Write(p []byte) (int, error) {
	e.held = max(e.held, e.src.read-e.written)
	e.written += int64(len(p))
	if e.written >= e.enough {
		return len(p), errEnough
	}
	return len(p), nil
}

// The bridge bounds what it holds of any request, however hostile: an
// endless header, header line, body, chunk or chunk line never makes it
// buffer more than its header limit and a read buffer, and a create
// request (the only body it reads whole) is refused past its limit, as
// the engine refuses it, after reading no more than that limit.
func TestHostileRequestsAreBounded(t *testing.T) {
	const bufSize = 64 << 10
	chunk := fmt.Sprintf("1000\r\n%s\r\n", strings.Repeat("x", 0x1000))
	cases := []struct {
		name       string
		head, body string
		// wantErr is the end of the connection; errEnough when the
		// bridge streams on until the engine stops it.
		wantErr  string
		wantCode int // an answer of the bridge's own
		maxHeld  int64
	}{
		{name: "endless header line", head: "GET /_ping HTTP/1.1\r\nX-Long: ", body: "a",
			wantErr: errEnough.Error(), maxHeld: maxHeaderBytes + 2*bufSize},
		{name: "endless header", head: "GET /_ping HTTP/1.1\r\n", body: "X-A: b\r\n",
			wantErr: errEnough.Error(), maxHeld: maxHeaderBytes + 2*bufSize},
		{name: "endless request line", head: "GET /", body: "a",
			wantErr: errEnough.Error(), maxHeld: maxHeaderBytes + 2*bufSize},
		{name: "endless empty lines", head: "", body: "\r\n",
			wantErr: errEnough.Error(), maxHeld: 2 * bufSize},
		{name: "huge content length", head: "POST /build HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n", body: "x",
			wantErr: errEnough.Error(), maxHeld: 2 * bufSize},
		{name: "endless chunks", head: "POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", body: chunk,
			wantErr: errEnough.Error(), maxHeld: 2 * bufSize},
		{name: "one endless chunk", head: "POST /images/load HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\n", body: "x",
			wantErr: errEnough.Error(), maxHeld: 2 * bufSize},
		{name: "endless chunk size line", head: "POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", body: "f",
			wantErr: "chunk line too long", maxHeld: 2 * bufSize},
		{name: "endless chunk extension", head: "POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;", body: "e",
			wantErr: "chunk line too long", maxHeld: 2 * bufSize},
		{name: "endless trailer", head: "POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", body: "X-T: v\r\n",
			wantErr: errEnough.Error(), maxHeld: 2 * bufSize},
		{name: "endless create body", head: "POST /v1.47/containers/create HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 9223372036854775807\r\n\r\n", body: `{"a":1}`,
			wantErr: errReplied.Error(), wantCode: http.StatusRequestEntityTooLarge},
		{name: "endless chunked create", head: "POST /containers/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", body: chunk,
			wantErr: errReplied.Error(), wantCode: http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The body repeated to a few KiB: the same stream, read faster.
			src := &endless{head: []byte(c.head), body: bytes.Repeat([]byte(c.body), 1+4096/len(c.body))}
			engine := &engineSide{src: src, enough: 4 * maxHeaderBytes}
			var reply bytes.Buffer
			f := &forwarder{paths: testPaths(), log: slog.New(slog.DiscardHandler)}
			err := f.run(engine, bufio.NewReaderSize(src, bufSize), &reply)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("the connection ended with %v; want %q", err, c.wantErr)
			}
			if c.wantCode != 0 {
				resp, rerr := http.ReadResponse(bufio.NewReader(&reply), nil)
				if rerr != nil || resp.StatusCode != c.wantCode {
					t.Fatalf("the bridge answered %q (%v); want %d", reply.String(), rerr, c.wantCode)
				}
				body, _ := io.ReadAll(resp.Body)
				if !strings.Contains(string(body), `"message":`) {
					t.Errorf("the refusal has no message: %s", body)
				}
				if limit := int64(maxCreateBody + 2*bufSize + len(c.head)); src.read > limit {
					t.Errorf("read %d bytes of a create before refusing it; want at most %d", src.read, limit)
				}
				return
			}
			if reply.Len() > 0 {
				t.Errorf("the bridge answered %q itself", reply.String())
			}
			if engine.held > c.maxHeld {
				t.Errorf("the bridge held %d bytes at once; want at most %d", engine.held, c.maxHeld)
			}
			t.Logf("read %d bytes, held at most %d", src.read, engine.held)
		})
	}
}

// Badly framed requests end the connection, and what reached the engine
// is the part that was well framed, byte for byte.
func TestBadChunkingEndsTheConnection(t *testing.T) {
	for _, c := range []struct{ in, sent, err string }{
		{in: "POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc", sent: "POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: "bad chunk size"},
		{in: "POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nabc", sent: "POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", err: "bad chunk size"},
		{in: "POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", sent: "POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", err: "EOF"},
		{in: "POST /build HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", sent: "POST /build HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", err: io.ErrUnexpectedEOF.Error()},
	} {
		var out, reply bytes.Buffer
		f := &forwarder{paths: testPaths(), log: slog.New(slog.DiscardHandler)}
		err := f.run(&out, bufio.NewReader(strings.NewReader(c.in)), &reply)
		if err == nil || !strings.Contains(err.Error(), c.err) || out.String() != c.sent || reply.Len() > 0 {
			t.Errorf("%q: sent %q, replied %q, ended with %v; want %q sent and %q", c.in, out.String(), reply.String(), err, c.sent, c.err)
		}
	}
}
