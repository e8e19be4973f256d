package initd

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The WSL mode's network link: the host agent's switch connects to the
// init's listener and the init carries Ethernet frames between that
// connection and its tap (eth0). On the connection every frame is behind
// its length, 4 bytes big-endian (QEMU's stream netdev, what the switch
// speaks on vm.LinkStream and vm.LinkHvsock); on the tap one read or write
// is one frame.

// maxFrame is the largest frame carried: the link's MTU (at most 65535,
// the tap's limit) and an Ethernet header with a VLAN tag.
const maxFrame = 65535 + 18

// linkAcceptRetry is how long the link waits after an accept that failed
// for a reason other than the listener's close.
const linkAcceptRetry = 100 * time.Millisecond

// readFrame reads one length-prefixed frame into buf (at least maxFrame
// bytes) and returns it. A length beyond maxFrame means the stream is not
// framed as expected: the link ends.
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame || int(n) > len(buf) {
		return nil, fmt.Errorf("frame of %d bytes: more than %d, the stream is not the switch's framing", n, maxFrame)
	}
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf[:n], nil
}

// putFrameHeader writes frame's length before it: buf is the 4 bytes of
// the header followed by the frame.
func putFrameHeader(buf []byte) []byte {
	binary.BigEndian.PutUint32(buf[:4], uint32(len(buf)-4))
	return buf
}

// linkSwitch is the init's end of the link: one tap, one link at a time.
type linkSwitch struct {
	tap  io.ReadWriter
	logf func(format string, args ...any)
	// header is sent raw first on every new link (guest/linkhello: this
	// start's nonce, which the host agent checks before any frame), if any;
	// hello is the first frame after it (linkHello), if any.
	header []byte
	hello  []byte

	mu    sync.Mutex
	cur   net.Conn // the link frames from the tap go to; nil between links
	links int      // links accepted so far
}

// afterAcceptError decides what an accept's error means for the link's
// listener: the listener was closed (stop serving), or a passing failure
// (too many open files, a connection reset before it was taken): try again.
func afterAcceptError(err error) (stop bool) {
	return errors.Is(err, net.ErrClosed)
}

// serve accepts links on l, one at a time: each is carried until it ends
// (the host agent left, or its stream broke), then the next one is taken;
// a new host agent joins the same running engine. Frames from the tap
// while no link is up are dropped, as a card without a cable drops them.
// It returns when l is closed, after the current link, if any, ended.
func (s *linkSwitch) serve(l net.Listener) error {
	go s.fromTap()
	for {
		c, err := l.Accept()
		if err != nil {
			if afterAcceptError(err) {
				return err
			}
			s.logf("network link: accepting: %v; retrying", err)
			time.Sleep(linkAcceptRetry)
			continue
		}
		if s.header != nil {
			if _, err := c.Write(s.header); err != nil {
				s.logf("network link: sending its header: %v", err)
				c.Close()
				continue
			}
		}
		if s.hello != nil {
			// Before the tap's frames: this goroutine is the link's only
			// writer until cur is set.
			_, _ = c.Write(putFrameHeader(append(make([]byte, 4), s.hello...)))
		}
		s.mu.Lock()
		s.cur = c
		s.links++
		n := s.links
		s.mu.Unlock()
		s.logf("network link %d up (%s)", n, c.RemoteAddr())
		err = s.toTap(c)
		s.mu.Lock()
		s.cur = nil
		s.mu.Unlock()
		c.Close()
		s.logf("network link %d down: %v; waiting for the next", n, err)
	}
}

// toTap carries frames from the link to the tap until the link ends. A
// frame the tap refuses (eth0 not up yet) is dropped, not the link.
func (s *linkSwitch) toTap(c net.Conn) error {
	r := bufio.NewReaderSize(c, 256<<10)
	buf := make([]byte, maxFrame)
	for {
		f, err := readFrame(r, buf)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("the host closed it")
			}
			return err
		}
		if len(f) == 0 {
			continue
		}
		_, _ = s.tap.Write(f)
	}
}

// fromTap carries the tap's frames to the current link, for as long as
// the tap reads. A write that fails ends that link (its reader sees the
// close); the next link gets the frames after it.
func (s *linkSwitch) fromTap() {
	buf := make([]byte, 4+maxFrame)
	for {
		n, err := s.tap.Read(buf[4:])
		if err != nil {
			s.logf("network link: reading eth0: %v", err)
			return
		}
		if n == 0 {
			continue
		}
		s.mu.Lock()
		c := s.cur
		s.mu.Unlock()
		if c == nil {
			continue
		}
		if _, err := c.Write(putFrameHeader(buf[:4+n])); err != nil {
			c.Close()
		}
	}
}
