package linkhello

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func testNonce() Nonce {
	var n Nonce
	for i := range n {
		n[i] = byte(i + 1)
	}
	return n
}

// The wire format is fixed: a change here is a new Version.
func TestEncodeWireFormat(t *testing.T) {
	b := Encode(testNonce())
	if len(b) != Size || Size != 41 {
		t.Fatalf("header of %d bytes, Size %d, want 41", len(b), Size)
	}
	want := append([]byte("BERTHLNK\x01"), testNonce().bytes()...)
	if !bytes.Equal(b, want) {
		t.Errorf("Encode = %x, want %x", b, want)
	}
	n, err := Decode(b)
	if err != nil || n != testNonce() {
		t.Errorf("Decode = %x, %v", n, err)
	}
}

func (n Nonce) bytes() []byte { return n[:] }

func TestDecodeRefuses(t *testing.T) {
	good := Encode(testNonce())
	version2 := append([]byte(nil), good...)
	version2[8] = 2
	for name, c := range map[string]struct {
		b    []byte
		says string
		is   error
	}{
		"empty":       {nil, "", ErrNotBerth},
		"other magic": {append([]byte("HTTP/1.1"), good[8:]...), "", ErrNotBerth},
		"version 2":   {version2, "version 2", nil},
		"short":       {good[:20], "20 bytes", nil},
		"long":        {append(append([]byte(nil), good...), 0), "42 bytes", nil},
	} {
		_, err := Decode(c.b)
		if err == nil || (c.is != nil && !errors.Is(err, c.is)) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: Decode = %v, want %v / %q", name, err, c.is, c.says)
		}
	}
}

// Read takes the header and leaves what follows it; Send and Expect are
// the two ends over a connection.
func TestSendExpect(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		if err := Send(a, testNonce()); err != nil {
			t.Error(err)
		}
		_, _ = a.Write([]byte("frame"))
	}()
	if err := Expect(b, testNonce()); err != nil {
		t.Fatal(err)
	}
	rest := make([]byte, 5)
	if _, err := io.ReadFull(b, rest); err != nil || string(rest) != "frame" {
		t.Errorf("after the header: %q, %v", rest, err)
	}
}

func TestExpectRefuses(t *testing.T) {
	other := testNonce()
	other[31]++
	for name, c := range map[string]struct {
		in []byte
		is error
	}{
		"another nonce":          {Encode(other), ErrOtherNonce},
		"not Berth":              {[]byte("SSH-2.0-OpenSSH_9.6\r\n and more bytes than a header"), ErrNotBerth},
		"closed before a header": {[]byte("BERT"), ErrNotBerth},
		"closed mid-nonce":       {Encode(testNonce())[:30], ErrNotBerth},
		"nothing":                {nil, ErrNotBerth},
	} {
		if err := Expect(bytes.NewReader(c.in), testNonce()); !errors.Is(err, c.is) {
			t.Errorf("%s: Expect = %v, want %v", name, err, c.is)
		}
	}
	// A peer that says nothing: the caller's deadline ends the read.
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	_ = b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if err := Expect(b, testNonce()); err == nil || errors.Is(err, ErrNotBerth) {
		t.Errorf("Expect from a silent peer = %v, want the deadline's error", err)
	}
}

// Read stops after the prefix of a peer that is not Berth's, without
// waiting for a whole header.
func TestReadStopsAtForeignPrefix(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _, _ = a.Write([]byte("GET / HTT")) }()
	_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := Read(b); !errors.Is(err, ErrNotBerth) {
		t.Errorf("Read = %v, want ErrNotBerth", err)
	}
}

func TestNonceHexAndEnv(t *testing.T) {
	n, err := NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewNonce()
	if err != nil || m == n {
		t.Fatalf("two nonces %x %x, %v", n, m, err)
	}
	if s := n.String(); len(s) != 64 || strings.ToLower(s) != s {
		t.Errorf("String = %q", s)
	}
	if p, err := ParseNonce(n.String()); err != nil || p != n {
		t.Errorf("ParseNonce(String) = %x, %v", p, err)
	}
	for _, bad := range []string{"", "xyz", n.String()[:62], n.String() + "00"} {
		if _, err := ParseNonce(bad); err == nil {
			t.Errorf("ParseNonce(%q) succeeded", bad)
		}
	}
	t.Setenv(EnvVar, n.String())
	got, err := FromEnv()
	if err != nil || got != n {
		t.Fatalf("FromEnv = %x, %v", got, err)
	}
	if _, ok := os.LookupEnv(EnvVar); ok {
		t.Error("FromEnv left the nonce in the environment")
	}
	if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), EnvVar) {
		t.Errorf("FromEnv without it = %v", err)
	}
}
