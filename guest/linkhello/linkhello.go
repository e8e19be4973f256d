// Package linkhello is the header the guest init sends first on every
// network link the host agent dials into it (hvsock in a WSL 2 distro), so
// that the agent knows it reached Berth's guest of this machine and start.
//
// The host cannot tell one Hyper-V VM from another by its id alone when it
// finds the id by probing (every running compute system is a candidate),
// and one WSL VM runs several distros, any of which could listen on the
// link's port. So the agent makes a random Nonce for each start of the
// guest init and hands it to the init alone (through the environment of the
// init's process, EnvVar); the init, on each accepted link, writes the
// header before any frame, and the agent reads and checks it before it
// uses the link. A peer that sends anything else is refused.
//
// The header, version 1, is Size bytes:
//
//	offset  size  field
//	0       8     Magic, "BERTHLNK"
//	8       1     version, 1
//	9       32    the nonce
//
// After it the link carries the switch's frames as without the header.
// Both ends are pure Go and run on any OS.
package linkhello

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// Magic opens the header.
const Magic = "BERTHLNK"

// Version is the header's version this package writes and reads.
const Version = 1

// NonceSize is the nonce's length in bytes.
const NonceSize = 32

// Size is the header's length in bytes.
const Size = len(Magic) + 1 + NonceSize

// EnvVar is the environment variable that hands the guest init its nonce,
// in hex.
const EnvVar = "BERTH_LINK_NONCE"

// Nonce is what one start of the guest init proves itself with.
type Nonce [NonceSize]byte

// ErrNotBerth: the peer's first bytes are not the header's magic.
var ErrNotBerth = errors.New("the peer did not open with Berth's link header")

// ErrOtherNonce: the header is Berth's but carries another nonce, that of
// another machine's or an earlier start's guest init.
var ErrOtherNonce = errors.New("the peer's link header carries another nonce: it is Berth's guest of another distro or of an earlier start")

// NewNonce is a random nonce.
func NewNonce() (Nonce, error) {
	var n Nonce
	if _, err := rand.Read(n[:]); err != nil {
		return Nonce{}, fmt.Errorf("the link nonce: %w", err)
	}
	return n, nil
}

// String is the nonce in lower-case hex, as EnvVar holds it.
func (n Nonce) String() string { return hex.EncodeToString(n[:]) }

// ParseNonce reads a nonce in hex.
func ParseNonce(s string) (Nonce, error) {
	var n Nonce
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != NonceSize {
		return Nonce{}, fmt.Errorf("link nonce: want %d hex digits, got %d characters", 2*NonceSize, len(s))
	}
	copy(n[:], b)
	return n, nil
}

// Encode is the header carrying n.
func Encode(n Nonce) []byte {
	b := make([]byte, 0, Size)
	b = append(b, Magic...)
	b = append(b, Version)
	return append(b, n[:]...)
}

// Decode reads the nonce out of a header of exactly Size bytes.
func Decode(b []byte) (Nonce, error) {
	if err := checkPrefix(b); err != nil {
		return Nonce{}, err
	}
	if len(b) != Size {
		return Nonce{}, fmt.Errorf("link header: %d bytes, want %d", len(b), Size)
	}
	var n Nonce
	copy(n[:], b[prefixSize:])
	return n, nil
}

// prefixSize is the magic and the version.
const prefixSize = len(Magic) + 1

// checkPrefix checks the magic and the version at the start of b.
func checkPrefix(b []byte) error {
	if len(b) < len(Magic) || !bytes.Equal(b[:len(Magic)], []byte(Magic)) {
		return ErrNotBerth
	}
	if len(b) < prefixSize {
		return fmt.Errorf("link header: %d bytes, want %d", len(b), Size)
	}
	if v := b[len(Magic)]; v != Version {
		return fmt.Errorf("link header version %d, this end speaks %d: the host agent and the guest image are of different Berth releases", v, Version)
	}
	return nil
}

// Send writes the header carrying n: the guest's first write on a link.
func Send(w io.Writer, n Nonce) error {
	if _, err := w.Write(Encode(n)); err != nil {
		return fmt.Errorf("sending the link header: %w", err)
	}
	return nil
}

// Read reads one header from r and nothing after it (the frames that
// follow stay in r). It stops after the magic and the version when they
// are not this package's.
func Read(r io.Reader) (Nonce, error) {
	b := make([]byte, Size)
	if _, err := io.ReadFull(r, b[:prefixSize]); err != nil {
		return Nonce{}, readErr(err)
	}
	if err := checkPrefix(b[:prefixSize]); err != nil {
		return Nonce{}, err
	}
	if _, err := io.ReadFull(r, b[prefixSize:]); err != nil {
		return Nonce{}, readErr(err)
	}
	return Decode(b)
}

func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: it closed the link first", ErrNotBerth)
	}
	return fmt.Errorf("reading the link header: %w", err)
}

// Expect reads one header from r and checks that it carries want: the
// host's first read on a link.
func Expect(r io.Reader, want Nonce) error {
	got, err := Read(r)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return ErrOtherNonce
	}
	return nil
}

// FromEnv is the guest init's nonce, read from EnvVar, which it then
// removes so that the programs the init starts do not inherit it.
func FromEnv() (Nonce, error) {
	s, ok := os.LookupEnv(EnvVar)
	if !ok {
		return Nonce{}, fmt.Errorf("%s is not set: the host agent hands the guest init its link nonce there", EnvVar)
	}
	if err := os.Unsetenv(EnvVar); err != nil {
		return Nonce{}, err
	}
	return ParseNonce(s)
}
