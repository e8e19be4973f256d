package initd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func frame(b []byte) []byte {
	return putFrameHeader(append(make([]byte, 4), b...))
}

func TestReadFrame(t *testing.T) {
	var stream bytes.Buffer
	stream.Write(frame([]byte("one")))
	stream.Write(frame(nil))
	stream.Write(frame(bytes.Repeat([]byte{7}, maxFrame)))
	buf := make([]byte, maxFrame)
	for _, want := range []int{3, 0, maxFrame} {
		f, err := readFrame(&stream, buf)
		if err != nil || len(f) != want {
			t.Fatalf("frame of %d bytes: read %d, %v", want, len(f), err)
		}
	}
	if _, err := readFrame(&stream, buf); !errors.Is(err, io.EOF) {
		t.Errorf("at the end of the stream: %v, want EOF", err)
	}
	// Cut inside a frame.
	short := frame([]byte("truncated"))[:8]
	if _, err := readFrame(bytes.NewReader(short), buf); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a cut frame: %v", err)
	}
	// A length no switch sends: the stream is out of step.
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], maxFrame+1)
	if _, err := readFrame(bytes.NewReader(hdr[:]), buf); err == nil || !strings.Contains(err.Error(), "framing") {
		t.Errorf("an oversized frame: %v", err)
	}
}

// fakeTap is eth0: what the guest sends comes from out, what the link
// delivers lands in in.
type fakeTap struct {
	out chan []byte
	in  chan []byte
}

// out is unbuffered: a send returns once the switch has taken the frame.
func newFakeTap() *fakeTap { return &fakeTap{out: make(chan []byte), in: make(chan []byte, 16)} }

func (t *fakeTap) Read(b []byte) (int, error) {
	f, ok := <-t.out
	if !ok {
		return 0, io.EOF
	}
	return copy(b, f), nil
}

func (t *fakeTap) Write(b []byte) (int, error) {
	t.in <- bytes.Clone(b)
	return len(b), nil
}

// chanListener hands out the server ends of net.Pipe pairs.
type chanListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newChanListener() *chanListener {
	return &chanListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) dial() net.Conn {
	client, server := net.Pipe()
	l.conns <- server
	return client
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *chanListener) Addr() net.Addr { return &net.UnixAddr{Net: "unix", Name: "link"} }

func recv(t *testing.T, ch chan []byte) []byte {
	t.Helper()
	select {
	case f := <-ch:
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no frame")
		return nil
	}
}

func readLink(t *testing.T, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := readFrame(c, make([]byte, maxFrame))
	if err != nil {
		t.Fatalf("reading the link: %v", err)
	}
	return f
}

func TestLinkSwitch(t *testing.T) {
	tap := newFakeTap()
	l := newChanListener()
	var logMu sync.Mutex
	var log []string
	s := &linkSwitch{tap: tap, hello: []byte("hello"), logf: func(f string, a ...any) {
		logMu.Lock()
		log = append(log, fmt.Sprintf(f, a...))
		logMu.Unlock()
	}}
	served := make(chan error, 1)
	go func() { served <- s.serve(l) }()

	// No link yet: the guest's frames are dropped, not queued for later
	// (the second send returns once the first was dealt with).
	tap.out <- []byte("lost")
	tap.out <- []byte("lost too")

	c1 := l.dial()
	if f := readLink(t, c1); string(f) != "hello" {
		t.Fatalf("the link's first frame is %q, not the hello", f)
	}
	go func() { _, _ = c1.Write(append(frame([]byte("to guest")), frame(nil)...)) }()
	if f := recv(t, tap.in); string(f) != "to guest" {
		t.Fatalf("the tap got %q", f)
	}
	tap.out <- []byte("to host")
	if f := readLink(t, c1); string(f) != "to host" {
		t.Fatalf("the link got %q (a frame from before the link was kept?)", f)
	}

	// The host agent leaves; the next one joins and is served the same.
	c1.Close()
	c2 := l.dial()
	if f := readLink(t, c2); string(f) != "hello" {
		t.Fatalf("the second link's first frame is %q, not the hello", f)
	}
	go func() { _, _ = c2.Write(frame([]byte("again"))) }()
	if f := recv(t, tap.in); string(f) != "again" {
		t.Fatalf("the tap got %q from the second link", f)
	}
	tap.out <- []byte("back")
	if f := readLink(t, c2); string(f) != "back" {
		t.Fatalf("the second link got %q", f)
	}

	// A stream out of step ends that link only.
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], maxFrame+1)
	go func() { _, _ = c2.Write(hdr[:]) }()
	_ = c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c2.Read(make([]byte, 1)); err == nil {
		t.Fatal("the link with an oversized frame stayed up")
	}
	c3 := l.dial()
	if f := readLink(t, c3); string(f) != "hello" {
		t.Fatalf("the third link's first frame is %q", f)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		up := s.cur != nil && s.links == 3
		s.mu.Unlock()
		if up {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the third link was not taken")
		}
	}
	tap.out <- []byte("third")
	if f := readLink(t, c3); string(f) != "third" {
		t.Fatalf("the third link got %q", f)
	}

	// Serving ends with the listener, once the current link is done.
	l.Close()
	c3.Close()
	select {
	case err := <-served:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("serve ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("closing the listener did not end serve")
	}
	logMu.Lock()
	defer logMu.Unlock()
	joined := strings.Join(log, "\n")
	for _, want := range []string{"network link 1 up", "network link 1 down: the host closed it", "network link 2 down: frame of", "network link 3 up"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the log lacks %q:\n%s", want, joined)
		}
	}
}

func TestAfterAcceptError(t *testing.T) {
	if !afterAcceptError(fmt.Errorf("accept: %w", net.ErrClosed)) {
		t.Error("a closed listener is not the end")
	}
	if afterAcceptError(errors.New("too many open files")) {
		t.Error("a passing failure stops the link")
	}
}
