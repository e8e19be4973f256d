//go:build linux

// Package vhostuser is the back end of the VM's network card: a vhost-user
// virtio-net device. QEMU shares the guest's memory and the card's queues
// over a unix socket, and the host agent moves Ethernet frames in and out
// of the guest's buffers itself, one copy each way, with no QEMU thread in
// between.
//
// What makes it fast under emulation is what the device offers the guest:
// checksum offload both ways. The guest neither computes the checksums of
// what it sends (the device completes them, natively) nor verifies those
// of what it receives (the frames come from the agent's own stack, whose
// checksums are right by construction). Under software emulation those
// per-byte loops are most of the guest's cost of a transfer.
//
// The device is a net.Conn carrying one frame per Read and per Write, the
// shape gvisor-tap-vsock's switch takes for datagram links.
package vhostuser

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
)

// Feature bits.
const (
	featCSUM      = 1 << 0  // VIRTIO_NET_F_CSUM: the guest may send partial checksums
	featGuestCSUM = 1 << 1  // VIRTIO_NET_F_GUEST_CSUM: the device may mark checksums valid
	featMrgRxbuf  = 1 << 15 // VIRTIO_NET_F_MRG_RXBUF: a frame may span receive buffers
	featLogAll    = 1 << 26 // VHOST_F_LOG_ALL: dirty page logging, for migration
	featIndirect  = 1 << 28 // VIRTIO_RING_F_INDIRECT_DESC
	featProtocol  = 1 << 30 // VHOST_USER_F_PROTOCOL_FEATURES
	featVersion1  = 1 << 32 // VIRTIO_F_VERSION_1

	// Features is what the device offers. VHOST_F_LOG_ALL is offered
	// because QEMU refuses to migrate (save) a VM whose vhost device lacks
	// it; the agent saves a stopped VM only, whose device QEMU has stopped
	// first and never asks to log. A request to log is refused (SetFeatures
	// with it, the log requests), so a live migration fails instead of
	// copying stale pages.
	Features uint64 = featCSUM | featGuestCSUM | featMrgRxbuf | featIndirect | featVersion1 | featProtocol | featLogAll
)

// ProtocolFeatures is what the device offers of the vhost-user protocol's
// own: VHOST_USER_PROTOCOL_F_LOG_SHMFD, whose absence also makes QEMU
// refuse to save the VM; its log requests are refused like
// VHOST_F_LOG_ALL (see Features).
const ProtocolFeatures uint64 = 1 << 1

// virtio-net header flags and GSO types.
const (
	hdrNeedsCsum = 1
	hdrDataValid = 2
	gsoNone      = 0
)

// Queues of a one-pair net device.
const (
	rxQ = 0 // device → guest
	txQ = 1 // guest → device
)

// rxWait bounds how long a frame waits for the guest to post receive
// buffers, or for a stopped receive ring to run again, before it is
// dropped, as a full ring drops on a real card: the network's other
// traffic must not stall behind a guest that stopped. The ring stops and
// starts again around every pause of the VM (QEMU's stop and cont): the
// first frame after a resume, often a connection's SYN, would otherwise
// be lost and resent only a second later.
const rxWait = 500 * time.Millisecond

// ErrClosed is returned by Read and Write after Close.
var ErrClosed = net.ErrClosed

// Device is one vhost-user net device, served over one connection from
// the front end. Serve runs the control protocol; Read and Write move
// frames.
type Device struct {
	conn *net.UnixConn
	log  *slog.Logger

	mu       sync.RWMutex // the layout: memory, rings, features
	features uint64
	mem      memory
	q        [2]*vring
	changed  chan struct{} // closed and replaced when the layout changes

	closeOnce sync.Once
	closed    chan struct{}

	txSegs, rxSegs []segment
	rxHeads        []rxChain
}

// rxChain is a receive chain taken for a frame: its head and its
// segments in the device's rxSegs.
type rxChain struct {
	head     uint16
	from, to int
}

var _ net.Conn = (*Device)(nil)

// New makes the device for a connection from the front end.
func New(conn *net.UnixConn, log *slog.Logger) *Device {
	return &Device{
		conn:    conn,
		log:     log,
		q:       [2]*vring{newVring(), newVring()},
		changed: make(chan struct{}),
		closed:  make(chan struct{}),
	}
}

// Serve answers the front end's requests until the connection ends or
// a request is refused; either way the device is closed.
func (d *Device) Serve() error {
	defer d.Close()
	for {
		m, err := readMessage(d.conn)
		if err != nil {
			select {
			case <-d.closed:
				return nil
			default:
			}
			return err
		}
		if err := d.handle(m); err != nil {
			return err
		}
	}
}

func (d *Device) handle(m *message) error {
	defer m.closeFDs()
	switch m.req {
	case reqGetFeatures:
		return reply(d.conn, m, u64Payload(Features))
	case reqSetOwner:
		return nil
	case reqGetProtocolFeatures:
		return reply(d.conn, m, u64Payload(ProtocolFeatures))
	case reqSetProtocolFeatures:
		f, err := m.u64()
		if err != nil {
			return err
		}
		if f&^ProtocolFeatures != 0 {
			return fmt.Errorf("vhost-user: protocol features %#x not offered", f&^ProtocolFeatures)
		}
		return nil
	case reqSetVringEnable:
		return d.vringState(m, func(q *vring, on uint32) error {
			q.enabled = on != 0
			return nil
		})
	case reqSetFeatures:
		f, err := m.u64()
		if err != nil {
			return err
		}
		if f&^Features != 0 {
			return fmt.Errorf("vhost-user: features %#x not offered", f&^Features)
		}
		if f&featLogAll != 0 {
			return errors.New("vhost-user: dirty page logging is not supported: only a stopped VM can be saved")
		}
		return d.change(func() error { d.features = f; return nil })
	case reqResetOwner:
		return d.change(func() error {
			d.features = 0
			for _, q := range d.q {
				q.stop()
			}
			return nil
		})
	case reqSetMemTable:
		mem, err := mapMemTable(m)
		if err != nil {
			return err
		}
		return d.change(func() error {
			old := d.mem
			d.mem = mem
			old.unmap()
			var errs []error
			for _, q := range d.q {
				errs = append(errs, q.layout(mem))
			}
			return errors.Join(errs...)
		})
	case reqSetVringNum:
		return d.vringState(m, func(q *vring, num uint32) error {
			if num == 0 || num > maxQueueSize || num&(num-1) != 0 {
				return fmt.Errorf("vhost-user: ring size %d", num)
			}
			q.num = uint16(num)
			return q.layout(d.mem)
		})
	case reqSetVringBase:
		return d.vringState(m, func(q *vring, num uint32) error {
			q.lastAvail = uint16(num)
			return nil
		})
	case reqGetVringBase:
		var base uint32
		if err := d.vringState(m, func(q *vring, _ uint32) error {
			q.stop()
			base = uint32(q.lastAvail)
			return nil
		}); err != nil {
			return err
		}
		p := make([]byte, 8)
		copy(p, m.payload[:4])
		binary.LittleEndian.PutUint32(p[4:], base)
		return reply(d.conn, m, p)
	case reqSetVringAddr:
		return d.vringAddr(m)
	case reqSetVringKick, reqSetVringCall, reqSetVringErr:
		return d.vringFD(m)
	}
	return fmt.Errorf("vhost-user: request %d is not supported", m.req)
}

// change applies f to the layout while no frame moves, and wakes the data
// paths to look again.
func (d *Device) change(f func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := f()
	close(d.changed)
	d.changed = make(chan struct{})
	return err
}

func (d *Device) ring(index uint32) (*vring, error) {
	if index >= uint32(len(d.q)) {
		return nil, fmt.Errorf("vhost-user: ring %d of a device with %d", index, len(d.q))
	}
	return d.q[index], nil
}

func (d *Device) vringState(m *message, f func(*vring, uint32) error) error {
	index, num, err := m.vringState()
	if err != nil {
		return err
	}
	q, err := d.ring(index)
	if err != nil {
		return err
	}
	return d.change(func() error { return f(q, num) })
}

func (d *Device) vringAddr(m *message) error {
	p := m.payload
	if len(p) < 40 {
		return fmt.Errorf("vhost-user: ring address of %d bytes", len(p))
	}
	q, err := d.ring(binary.LittleEndian.Uint32(p))
	if err != nil {
		return err
	}
	addr := vringAddr{
		desc:  binary.LittleEndian.Uint64(p[8:]),
		used:  binary.LittleEndian.Uint64(p[16:]),
		avail: binary.LittleEndian.Uint64(p[24:]),
	}
	return d.change(func() error {
		q.addr = addr
		return q.layout(d.mem)
	})
}

func (d *Device) vringFD(m *message) error {
	v, err := m.u64()
	if err != nil {
		return err
	}
	q, err := d.ring(uint32(v & vringIdxMask))
	if err != nil {
		return err
	}
	fd := -1
	if v&vringNoFD == 0 {
		if fd, err = m.takeFD(); err != nil {
			return err
		}
	}
	switch m.req {
	case reqSetVringErr:
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil
	case reqSetVringCall:
		return d.change(func() error { q.setCall(fd); return nil })
	}
	if fd < 0 {
		return errors.New("vhost-user: a ring without a kick descriptor (polling) is not supported")
	}
	return d.change(func() error {
		if err := q.setKick(fd); err != nil {
			return err
		}
		if q.desc == nil {
			return fmt.Errorf("vhost-user: ring %d kicked before its layout", v&vringIdxMask)
		}
		q.loadUsedIdx()
		q.usedFlags = 0
		q.started = true
		if d.features&featProtocol == 0 {
			q.enabled = true // without protocol features a ring starts enabled
		}
		return nil
	})
}

// hdrLen is the size of the virtio-net header before every frame.
func (d *Device) hdrLen() int {
	if d.features&(featMrgRxbuf|featVersion1) != 0 {
		return 12
	}
	return 10
}

// Read takes the next frame the guest sent into p. A frame larger than p
// is dropped.
func (d *Device) Read(p []byte) (int, error) {
	for {
		d.mu.RLock()
		q := d.q[txQ]
		n, ok := 0, false
		if q.running() {
			n, ok = d.takeFrame(q, p)
		}
		changed := d.changed
		d.mu.RUnlock()
		if ok {
			return n, nil
		}
		select {
		case <-q.kicked:
		case <-changed:
		case <-d.closed:
			return 0, ErrClosed
		}
	}
}

// takeFrame copies the next good frame from the transmit ring into p, or
// says there is none; with none, it has asked the guest to kick.
func (d *Device) takeFrame(q *vring, p []byte) (int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	hl := d.hdrLen()
	for {
		head, segs, ok, err := q.pop(d.mem, d.txSegs[:0])
		d.txSegs = segs
		if !ok {
			q.publish()
			// Ask for a kick, then look again: a buffer added before the
			// driver saw the flag would otherwise wait for the next one.
			q.setNotify(true)
			if !q.pending() {
				return 0, false
			}
			continue
		}
		q.setNotify(false)
		n := 0
		if err == nil {
			n, err = gather(p, segs, hl)
		}
		if head < q.num {
			q.push(head, 0)
		}
		if err != nil {
			d.log.Debug("vhost-user: dropped a frame from the guest", "err", err)
			continue
		}
		if !q.pending() {
			q.publish()
		}
		return n, true
	}
}

// gather copies a frame out of a transmit chain: the virtio-net header,
// then the frame, which it returns in p with its checksum completed.
func gather(p []byte, segs []segment, hl int) (int, error) {
	var hdr [12]byte
	h, n := 0, 0
	for _, s := range segs {
		if s.writable {
			return 0, fmt.Errorf("%w: writable buffer in a transmit chain", errBadChain)
		}
		b := s.buf
		if h < hl {
			c := copy(hdr[h:hl], b)
			h += c
			b = b[c:]
		}
		if len(b) > len(p)-n {
			return 0, fmt.Errorf("frame larger than %d bytes", len(p))
		}
		n += copy(p[n:], b)
	}
	if h < hl {
		return 0, fmt.Errorf("%w: %d-byte header", errBadChain, h)
	}
	if hdr[1] != gsoNone {
		return 0, fmt.Errorf("segmentation offload (type %d) was not offered", hdr[1])
	}
	if hdr[0]&hdrNeedsCsum != 0 {
		start := int(binary.LittleEndian.Uint16(hdr[6:]))
		off := int(binary.LittleEndian.Uint16(hdr[8:]))
		if err := completeChecksum(p[:n], start, off); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// completeChecksum finishes a partial checksum: the guest stored the
// pseudo-header's sum at start+off, and the sum of everything from start
// on, complemented, is the checksum.
func completeChecksum(f []byte, start, off int) error {
	if start >= len(f) || off+2 > len(f)-start {
		return fmt.Errorf("checksum at %d+%d outside a %d-byte frame", start, off, len(f))
	}
	sum := ^checksum.Checksum(f[start:], 0)
	if sum == 0 && off == 6 { // UDP: zero means "no checksum"
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(f[start+off:], sum)
	return nil
}

// Write puts one frame into the guest's receive buffers. It drops the
// frame, reporting success as a wire would, when the card does not run or
// the guest posts no buffers within rxWait.
func (d *Device) Write(frame []byte) (int, error) {
	var timer *time.Timer // started at the first wait: the hot path takes no clock
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		d.mu.RLock()
		q := d.q[rxQ]
		running := q.running()
		ok := false
		if running {
			ok = d.putFrame(q, frame)
		}
		changed := d.changed
		d.mu.RUnlock()
		if ok {
			select {
			case <-d.closed:
				return 0, ErrClosed
			default:
				return len(frame), nil
			}
		}
		if timer == nil {
			timer = time.NewTimer(rxWait)
		}
		select {
		case <-q.kicked:
		case <-changed:
		case <-timer.C:
			return len(frame), nil
		case <-d.closed:
			return 0, ErrClosed
		}
	}
}

// putFrame writes frame into as many receive buffers as it needs, or
// takes none and asks for a kick when the guest has not posted enough.
// A frame too large for the guest's buffers is dropped (ok).
func (d *Device) putFrame(q *vring, frame []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	hl := d.hdrLen()
	need := hl + len(frame)
	merge := d.features&featMrgRxbuf != 0
	for {
		chains, segs, ok := d.takeRx(q, need, hl, merge)
		d.rxHeads, d.rxSegs = chains[:0], segs[:0] // their arrays serve the next frame
		if ok {
			if len(chains) > 0 {
				q.setNotify(false)
				scatter(segs, chains, frame, hl, merge, q)
			}
			q.publish()
			return true
		}
		// Ask for a kick, then look again: buffers posted before the
		// driver saw the flag would otherwise wait for the next kick.
		q.setNotify(true)
		if !q.pending() {
			q.publish()
			return false
		}
	}
}

// takeRx takes receive chains holding at least need bytes, with their
// segments. Without enough it takes none (ok false); no chains with ok
// true means the frame cannot fit and is dropped.
func (d *Device) takeRx(q *vring, need, hl int, merge bool) (chains []rxChain, segs []segment, ok bool) {
	start := q.lastAvail
	chains, segs = d.rxHeads[:0], d.rxSegs[:0]
	have := 0
	for have < need {
		from := len(segs)
		head, more, ok, err := q.pop(d.mem, segs)
		if !ok {
			q.lastAvail = start
			return chains[:0], segs[:0], false
		}
		segs = more
		size := 0
		for _, s := range segs[from:] {
			if !s.writable {
				err = fmt.Errorf("%w: read-only buffer in a receive chain", errBadChain)
				break
			}
			size += len(s.buf)
		}
		if err == nil && len(chains) == 0 && size < hl {
			err = fmt.Errorf("%w: %d-byte receive buffer", errBadChain, size)
		}
		if err == nil && !merge && size < need {
			err = fmt.Errorf("a %d-byte frame does not fit a %d-byte buffer", need, size)
		}
		if err != nil {
			// A buffer that cannot be used goes back empty, and so do
			// those taken before it: the guest drops them as short frames.
			d.log.Debug("vhost-user: receive buffer skipped", "err", err)
			for _, c := range chains {
				q.push(c.head, 0)
			}
			if head < q.num {
				q.push(head, 0)
			}
			if len(chains) > 0 || !merge {
				return chains[:0], segs[:0], true
			}
			segs = segs[:0]
			start = q.lastAvail
			continue
		}
		chains = append(chains, rxChain{head: head, from: from, to: len(segs)})
		have += size
	}
	return chains, segs, true
}

// scatter writes the header and the frame across chains and pushes them.
func scatter(segs []segment, chains []rxChain, frame []byte, hl int, merge bool, q *vring) {
	var hdr [12]byte
	hdr[0] = hdrDataValid
	if merge {
		binary.LittleEndian.PutUint16(hdr[10:], uint16(len(chains)))
	}
	src := [2][]byte{hdr[:hl], frame}
	for _, c := range chains {
		written := 0
		for _, s := range segs[c.from:c.to] {
			b := s.buf
			for len(b) > 0 && (len(src[0]) > 0 || len(src[1]) > 0) {
				if len(src[0]) == 0 {
					src[0], src[1] = src[1], nil
				}
				k := copy(b, src[0])
				src[0] = src[0][k:]
				b = b[k:]
				written += k
			}
		}
		q.push(c.head, uint32(written))
	}
}

// Close ends the device: the data paths return ErrClosed, the connection
// closes, and the guest's memory is unmapped.
func (d *Device) Close() error {
	d.closeOnce.Do(func() {
		close(d.closed)
		d.conn.Close()
		d.mu.Lock()
		for _, q := range d.q {
			q.close()
		}
		d.mem.unmap()
		d.mem = nil
		d.mu.Unlock()
	})
	return nil
}

// LocalAddr is the control connection's address.
func (d *Device) LocalAddr() net.Addr { return d.conn.LocalAddr() }

// RemoteAddr is the control connection's peer.
func (d *Device) RemoteAddr() net.Addr { return d.conn.RemoteAddr() }

// SetDeadline is not supported: frames move until Close.
func (d *Device) SetDeadline(time.Time) error { return errors.ErrUnsupported }

// SetReadDeadline is not supported.
func (d *Device) SetReadDeadline(time.Time) error { return errors.ErrUnsupported }

// SetWriteDeadline is not supported.
func (d *Device) SetWriteDeadline(time.Time) error { return errors.ErrUnsupported }
