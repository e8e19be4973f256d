//go:build linux

package vhostuser

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
)

// The test plays QEMU: it owns the guest memory (a memfd), lays out the
// rings, sends the requests QEMU sends, and acts as the guest driver.
const (
	memSize  = 1 << 20
	ringNum  = 64
	uvaBase  = 0x7f0000000000 // the front end's address of guest address 0
	bufStart = 0x10000
)

// ringAt is where ring q lives in guest memory.
func ringAt(q int) (desc, avail, used uint64) {
	base := uint64(q) * 0x4000
	return base, base + 0x400, base + 0x1000
}

type frontend struct {
	t     *testing.T
	conn  *net.UnixConn
	mem   []byte
	memfd int
	kick  [2]int
	call  [2]int
	// the guest driver's state
	availIdx [2]uint16
	nextDesc [2]uint16
	nextBuf  uint64
	usedSeen [2]uint16
}

func newPair(t *testing.T) (*frontend, *Device) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]*net.UnixConn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "vhost-user")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c.(*net.UnixConn)
	}
	memfd, err := unix.MemfdCreate("guest", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Ftruncate(memfd, memSize); err != nil {
		t.Fatal(err)
	}
	mem, err := unix.Mmap(memfd, 0, memSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	f := &frontend{t: t, conn: conns[0], mem: mem, memfd: memfd, nextBuf: bufStart}
	for q := range 2 {
		for _, p := range []*int{&f.kick[q], &f.call[q]} {
			if *p, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
				t.Fatal(err)
			}
		}
	}
	d := New(conns[1], slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() {
		d.Close()
		f.conn.Close()
		unix.Munmap(mem)
		unix.Close(memfd)
		for q := range 2 {
			unix.Close(f.kick[q])
			unix.Close(f.call[q])
		}
	})
	return f, d
}

func (f *frontend) send(req uint32, payload []byte, fds ...int) {
	f.t.Helper()
	hdr := make([]byte, headerSize, headerSize+len(payload))
	binary.LittleEndian.PutUint32(hdr, req)
	binary.LittleEndian.PutUint32(hdr[4:], flagVersion)
	binary.LittleEndian.PutUint32(hdr[8:], uint32(len(payload)))
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if _, _, err := f.conn.WriteMsgUnix(append(hdr, payload...), oob, nil); err != nil {
		f.t.Fatal(err)
	}
}

func (f *frontend) reply(req uint32) []byte {
	f.t.Helper()
	hdr := make([]byte, headerSize)
	f.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(f.conn, hdr); err != nil {
		f.t.Fatalf("reply to %d: %v", req, err)
	}
	if got := binary.LittleEndian.Uint32(hdr); got != req {
		f.t.Fatalf("reply to %d, want %d", got, req)
	}
	if fl := binary.LittleEndian.Uint32(hdr[4:]); fl != flagVersion|flagReply {
		f.t.Fatalf("reply flags %#x", fl)
	}
	p := make([]byte, binary.LittleEndian.Uint32(hdr[8:]))
	if _, err := io.ReadFull(f.conn, p); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func state(index, num uint32) []byte {
	p := make([]byte, 8)
	binary.LittleEndian.PutUint32(p, index)
	binary.LittleEndian.PutUint32(p[4:], num)
	return p
}

func memTable(gpa, size, uva, off uint64) []byte {
	p := make([]byte, 8+32)
	binary.LittleEndian.PutUint32(p, 1)
	binary.LittleEndian.PutUint64(p[8:], gpa)
	binary.LittleEndian.PutUint64(p[16:], size)
	binary.LittleEndian.PutUint64(p[24:], uva)
	binary.LittleEndian.PutUint64(p[32:], off)
	return p
}

func ringAddr(q int) []byte {
	desc, avail, used := ringAt(q)
	p := make([]byte, 40)
	binary.LittleEndian.PutUint32(p, uint32(q))
	binary.LittleEndian.PutUint64(p[8:], uvaBase+desc)
	binary.LittleEndian.PutUint64(p[16:], uvaBase+used)
	binary.LittleEndian.PutUint64(p[24:], uvaBase+avail)
	return p
}

// start does what QEMU does when the guest driver is ready.
func (f *frontend) start(features uint64) {
	f.t.Helper()
	f.send(reqGetFeatures, nil)
	if got := binary.LittleEndian.Uint64(f.reply(reqGetFeatures)); got != Features {
		f.t.Fatalf("features %#x, want %#x", got, Features)
	}
	if features&featProtocol != 0 {
		f.send(reqGetProtocolFeatures, nil)
		if got := binary.LittleEndian.Uint64(f.reply(reqGetProtocolFeatures)); got != ProtocolFeatures {
			f.t.Fatalf("protocol features %#x, want %#x", got, ProtocolFeatures)
		}
		f.send(reqSetProtocolFeatures, u64Payload(0))
	}
	f.send(reqSetOwner, nil)
	f.send(reqSetFeatures, u64Payload(features))
	f.send(reqSetMemTable, memTable(0, memSize, uvaBase, 0), f.memfd)
	for q := range 2 {
		f.send(reqSetVringNum, state(uint32(q), ringNum))
		f.send(reqSetVringBase, state(uint32(q), 0))
		f.send(reqSetVringAddr, ringAddr(q))
		f.send(reqSetVringKick, u64Payload(uint64(q)), f.kick[q])
		f.send(reqSetVringCall, u64Payload(uint64(q)), f.call[q])
		if features&featProtocol != 0 {
			// With protocol features a ring starts disabled.
			f.send(reqSetVringEnable, state(uint32(q), 1))
		}
	}
	// A reply orders the device's handling before the test goes on.
	f.send(reqGetFeatures, nil)
	f.reply(reqGetFeatures)
}

func (f *frontend) le16(at uint64) uint16 { return binary.LittleEndian.Uint16(f.mem[at:]) }

// alloc copies b into guest memory and returns its address.
func (f *frontend) alloc(b []byte) uint64 {
	a := f.nextBuf
	copy(f.mem[a:], b)
	f.nextBuf += (uint64(len(b)) + 15) &^ 15
	if f.nextBuf > memSize {
		f.t.Fatal("test guest memory exhausted")
	}
	return a
}

type desc struct {
	addr  uint64
	len   uint32
	flags uint16
}

// post makes a chain of ds on ring q available and kicks.
func (f *frontend) post(q int, ds []desc) uint16 {
	base, availAt, _ := ringAt(q)
	head := f.nextDesc[q]
	for i, d := range ds {
		slot := f.nextDesc[q]
		f.nextDesc[q] = (f.nextDesc[q] + 1) % ringNum
		e := f.mem[base+16*uint64(slot):]
		binary.LittleEndian.PutUint64(e, d.addr)
		binary.LittleEndian.PutUint32(e[8:], d.len)
		flags := d.flags
		if i < len(ds)-1 {
			flags |= descNext
		}
		binary.LittleEndian.PutUint16(e[12:], flags)
		binary.LittleEndian.PutUint16(e[14:], f.nextDesc[q])
	}
	binary.LittleEndian.PutUint16(f.mem[availAt+4+2*uint64(f.availIdx[q]%ringNum):], head)
	f.availIdx[q]++
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&f.mem[availAt])), uint32(f.availIdx[q])<<16)
	var one = [8]byte{1}
	unix.Write(f.kick[q], one[:])
	return head
}

type usedElem struct{ id, len uint32 }

// used waits for n new used entries on ring q.
func (f *frontend) used(q, n int) []usedElem {
	f.t.Helper()
	_, _, usedAt := ringAt(q)
	deadline := time.Now().Add(5 * time.Second)
	for uint16(atomic.LoadUint32((*uint32)(unsafe.Pointer(&f.mem[usedAt])))>>16)-f.usedSeen[q] < uint16(n) {
		if time.Now().After(deadline) {
			f.t.Fatalf("ring %d: %d used entries after %d, want %d", q, f.le16(usedAt+2)-f.usedSeen[q], f.usedSeen[q], n)
		}
		time.Sleep(time.Millisecond)
	}
	var out []usedElem
	for range n {
		e := f.mem[usedAt+4+8*uint64(f.usedSeen[q]%ringNum):]
		out = append(out, usedElem{binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint32(e[4:])})
		f.usedSeen[q]++
	}
	return out
}

// interrupted says whether ring q's call eventfd fired, and clears it.
func (f *frontend) interrupted(q int) bool {
	var b [8]byte
	n, _ := unix.Read(f.call[q], b[:])
	return n == 8
}

// startedPair is a device whose card the front end has started.
func startedPair(t *testing.T, features uint64) (*frontend, *Device) {
	f, d := newPair(t)
	serve(t, d)
	f.start(features)
	return f, d
}

func serve(t *testing.T, d *Device) chan error {
	done := make(chan error, 1)
	go func() { done <- d.Serve() }()
	return done
}

// udpFrame is an Ethernet/IPv4/UDP frame with a payload of n bytes and a
// partial checksum (the pseudo-header's sum), as a guest with checksum
// offload sends it; it returns the frame and its correct checksum.
func udpFrame(n int) ([]byte, uint16) {
	f := make([]byte, 14+20+8+n)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+n))
	ip[8], ip[9] = 64, 17
	copy(ip[12:], []byte{192, 168, 127, 2})
	copy(ip[16:], []byte{192, 168, 127, 1})
	udp := ip[20:]
	binary.BigEndian.PutUint16(udp, 5353)
	binary.BigEndian.PutUint16(udp[2:], 53)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+n))
	for i := range n {
		udp[8+i] = byte(i*7 + 3)
	}
	pseudo := append(append([]byte{}, ip[12:20]...), 0, 17, byte((8+n)>>8), byte(8+n))
	partial := checksum.Checksum(pseudo, 0)
	full := ^checksum.Checksum(udp, partial)
	binary.BigEndian.PutUint16(udp[6:], partial)
	return f, full
}

func netHdr(flags uint8, csumStart, csumOff uint16) []byte {
	h := make([]byte, 12)
	h[0] = flags
	binary.LittleEndian.PutUint16(h[6:], csumStart)
	binary.LittleEndian.PutUint16(h[8:], csumOff)
	return h
}

func TestTransmitCompletesChecksum(t *testing.T) {
	f, d := startedPair(t, Features&^featLogAll)

	frame, want := udpFrame(3000)
	// The header and the frame in separate buffers, the frame split too,
	// as Linux sends a frame with its header in front.
	h := f.alloc(netHdr(hdrNeedsCsum, 34, 6))
	a := f.alloc(frame[:100])
	b := f.alloc(frame[100:])
	head := f.post(txQ, []desc{{h, 12, 0}, {a, 100, 0}, {b, uint32(len(frame) - 100), 0}})

	buf := make([]byte, 65536)
	n, err := d.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	got := buf[:n]
	if n != len(frame) {
		t.Fatalf("read %d bytes, want %d", n, len(frame))
	}
	if c := binary.BigEndian.Uint16(got[40:]); c != want {
		t.Fatalf("UDP checksum %#04x, want %#04x", c, want)
	}
	binary.BigEndian.PutUint16(frame[40:], want)
	if !bytes.Equal(got, frame) {
		t.Fatal("frame changed beyond its checksum")
	}
	if u := f.used(txQ, 1); u[0].id != uint32(head) {
		t.Fatalf("used %+v, want head %d", u, head)
	}
	if !f.interrupted(txQ) {
		t.Fatal("no interrupt after the transmit ring drained")
	}
}

func TestTransmitIndirectAndBadChains(t *testing.T) {
	f, d := startedPair(t, Features&^featLogAll)

	// A chain whose buffer lies outside guest memory is given back and
	// dropped; the frame after it arrives.
	bad := f.post(txQ, []desc{{memSize - 4, 64, 0}})
	frame, _ := udpFrame(200)
	// An indirect table holding the header and the frame.
	table := make([]byte, 32)
	binary.LittleEndian.PutUint64(table, f.alloc(netHdr(0, 0, 0)))
	binary.LittleEndian.PutUint32(table[8:], 12)
	binary.LittleEndian.PutUint16(table[12:], descNext)
	binary.LittleEndian.PutUint16(table[14:], 1)
	binary.LittleEndian.PutUint64(table[16:], f.alloc(frame))
	binary.LittleEndian.PutUint32(table[24:], uint32(len(frame)))
	good := f.post(txQ, []desc{{f.alloc(table), 32, descIndirect}})

	buf := make([]byte, 65536)
	n, err := d.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], frame) {
		t.Fatalf("read %d bytes, not the frame", n)
	}
	u := f.used(txQ, 2)
	if u[0].id != uint32(bad) || u[1].id != uint32(good) {
		t.Fatalf("used %+v, want %d then %d", u, bad, good)
	}
}

// postRx posts n receive buffers of size bytes.
func (f *frontend) postRx(n, size int) {
	for range n {
		f.post(rxQ, []desc{{f.alloc(make([]byte, size)), uint32(size), descWrite}})
	}
}

func TestReceiveMergesBuffers(t *testing.T) {
	f, d := startedPair(t, Features&^featLogAll)
	f.postRx(8, 1536)

	frame := make([]byte, 4000)
	for i := range frame {
		frame[i] = byte(i)
	}
	if n, err := d.Write(frame); err != nil || n != len(frame) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	u := f.used(rxQ, 3)
	var got []byte
	for i, e := range u {
		base, _, _ := ringAt(rxQ)
		addr := binary.LittleEndian.Uint64(f.mem[base+16*uint64(e.id):])
		b := f.mem[addr : addr+uint64(e.len)]
		if i == 0 {
			if b[0] != hdrDataValid {
				t.Fatalf("header flags %#x, want DATA_VALID", b[0])
			}
			if nb := binary.LittleEndian.Uint16(b[10:]); nb != 3 {
				t.Fatalf("num_buffers %d, want 3", nb)
			}
			b = b[12:]
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got, frame) {
		t.Fatalf("the guest received %d bytes, not the frame", len(got))
	}
	if !f.interrupted(rxQ) {
		t.Fatal("no interrupt after a frame")
	}
}

func TestReceiveWaitsForBuffers(t *testing.T) {
	f, d := startedPair(t, Features&^featLogAll)

	done := blockedWrite(t, d, "with no receive buffer")
	f.postRx(1, 2048)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if u := f.used(rxQ, 1); u[0].len != 1012 {
		t.Fatalf("used %+v, want 1012 bytes", u)
	}

	// A guest that posts nothing costs the frame, not the network.
	droppedAfterWaiting(t, d)
}

func TestWithoutMergeAFrameNeedsOneBuffer(t *testing.T) {
	f, d := startedPair(t, featVersion1|featCSUM|featGuestCSUM)
	f.postRx(2, 1000)
	// Too large for one buffer: dropped, the buffer given back empty.
	if _, err := d.Write(make([]byte, 1500)); err != nil {
		t.Fatal(err)
	}
	if u := f.used(rxQ, 1); u[0].len != 0 {
		t.Fatalf("used %+v, want an empty buffer", u)
	}
	if _, err := d.Write(make([]byte, 900)); err != nil {
		t.Fatal(err)
	}
	if u := f.used(rxQ, 1); u[0].len != 912 {
		t.Fatalf("used %+v, want 912 bytes", u)
	}
}

func TestVringBaseStopsTheRing(t *testing.T) {
	f, d := startedPair(t, Features&^featLogAll)
	frame, _ := udpFrame(10)
	f.post(txQ, []desc{{f.alloc(netHdr(0, 0, 0)), 12, 0}, {f.alloc(frame), uint32(len(frame)), 0}})
	buf := make([]byte, 65536)
	if _, err := d.Read(buf); err != nil {
		t.Fatal(err)
	}
	f.send(reqGetVringBase, state(txQ, 0))
	p := f.reply(reqGetVringBase)
	if idx, base := binary.LittleEndian.Uint32(p), binary.LittleEndian.Uint32(p[4:]); idx != txQ || base != 1 {
		t.Fatalf("vring base %d/%d, want ring %d at 1", idx, base, txQ)
	}
	// A stopped ring takes nothing.
	f.post(txQ, []desc{{f.alloc(netHdr(0, 0, 0)), 12, 0}, {f.alloc(frame), uint32(len(frame)), 0}})
	read := make(chan error, 1)
	go func() { _, err := d.Read(buf); read <- err }()
	select {
	case err := <-read:
		t.Fatalf("a stopped ring gave a frame (%v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	d.Close()
	if err := <-read; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
}

func TestRefusedRequests(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(f *frontend)
		want string
	}{
		{"unknown request", func(f *frontend) { f.send(40, nil) }, "request 40 is not supported"},
		{"feature not offered", func(f *frontend) { f.send(reqSetFeatures, u64Payload(1<<5)) }, "not offered"},
		// Offered so that QEMU saves a stopped VM; logging itself is refused.
		{"dirty page logging", func(f *frontend) { f.send(reqSetFeatures, u64Payload(featVersion1|featLogAll)) }, "only a stopped VM can be saved"},
		{"log base", func(f *frontend) { f.send(6, u64Payload(0)) }, "request 6 is not supported"},
		{"protocol feature not offered", func(f *frontend) { f.send(reqSetProtocolFeatures, u64Payload(1<<3)) }, "protocol features 0x8 not offered"},
		{"ring size", func(f *frontend) { f.send(reqSetVringNum, state(0, 100)) }, "ring size 100"},
		{"ring index", func(f *frontend) { f.send(reqSetVringNum, state(7, 64)) }, "ring 7"},
		{"ring outside memory", func(f *frontend) {
			f.send(reqSetMemTable, memTable(0, memSize, uvaBase, 0), f.memfd)
			f.send(reqSetVringNum, state(0, 64))
			p := ringAddr(0)
			binary.LittleEndian.PutUint64(p[8:], uvaBase+memSize-16)
			f.send(reqSetVringAddr, p)
		}, "outside guest memory"},
		{"memory table without descriptor", func(f *frontend) { f.send(reqSetMemTable, memTable(0, memSize, uvaBase, 0)) }, "descriptors"},
		{"kick without descriptor", func(f *frontend) { f.send(reqSetVringKick, u64Payload(vringNoFD)) }, "polling"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, d := newPair(t)
			done := serve(t, d)
			tc.do(f)
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Serve: %v, want %q", err, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the request was not refused")
			}
			// The device is closed: frames stop.
			if _, err := d.Write([]byte{1}); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Write after a refused request: %v", err)
			}
		})
	}
}

func TestFrontEndGoneEndsServe(t *testing.T) {
	f, d := newPair(t)
	done := serve(t, d)
	f.start(Features &^ featLogAll)
	f.conn.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Serve returned no error for a lost front end")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still running after the front end left")
	}
	if _, err := d.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read: %v", err)
	}
}

// A frame written while the receive ring is stopped, as QEMU stops and
// starts it again around a pause of the VM, waits for it to run and
// arrives; one for a ring that stays stopped is dropped after rxWait.
func TestReceiveWaitsForAStoppedRing(t *testing.T) {
	f, d := startedPair(t, Features&^featLogAll)
	f.send(reqGetVringBase, state(rxQ, 0))
	f.reply(reqGetVringBase)

	done := blockedWrite(t, d, "while the ring was stopped")
	// cont: the ring is laid out and kicked again.
	f.send(reqSetVringNum, state(rxQ, ringNum))
	f.send(reqSetVringBase, state(rxQ, 0))
	f.send(reqSetVringAddr, ringAddr(rxQ))
	f.send(reqSetVringKick, u64Payload(rxQ), f.kick[rxQ])
	f.postRx(1, 2048)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if u := f.used(rxQ, 1); u[0].len != 1012 {
		t.Fatalf("used %+v, want the 1012 bytes written while the ring was stopped", u)
	}

	f.send(reqGetVringBase, state(rxQ, 0))
	f.reply(reqGetVringBase)
	droppedAfterWaiting(t, d)
}

// blockedWrite starts a 1000-byte Write that must not return yet (why
// says what it waits for); its result comes on the channel.
func blockedWrite(t *testing.T, d *Device, why string) chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := d.Write(make([]byte, 1000))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Write returned (%v) %s", err, why)
	case <-time.After(50 * time.Millisecond):
	}
	return done
}

// droppedAfterWaiting writes a frame the guest cannot take: it is dropped,
// reported as written, but only after waiting rxWait for the guest.
func droppedAfterWaiting(t *testing.T, d *Device) {
	t.Helper()
	start := time.Now()
	if n, err := d.Write(make([]byte, 1000)); err != nil || n != 1000 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if waited := time.Since(start); waited < rxWait/2 {
		t.Fatalf("dropped after %v, before waiting", waited)
	}
}
