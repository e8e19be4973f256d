//go:build linux

package vhostuser

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Descriptor flags of a split virtqueue.
const (
	descNext     = 1
	descWrite    = 2
	descIndirect = 4

	availNoInterrupt = 1 // the driver asks for no interrupt
	usedNoNotify     = 1 // the device asks for no kick

	maxQueueSize = 32768
)

// errBadChain is a descriptor chain the guest driver got wrong; the
// device drops that buffer and goes on.
var errBadChain = errors.New("malformed descriptor chain")

// vringAddr is where the front end placed a ring, in its own addresses.
type vringAddr struct {
	desc, used, avail uint64
}

// vring is one split virtqueue, in guest memory shared by the front end.
// One goroutine at a time moves its indexes (mu); the control connection
// changes its layout only while no data path holds the device's lock.
type vring struct {
	mu sync.Mutex

	num  uint16
	addr vringAddr
	// desc, avail and used are the rings inside guest memory; nil until
	// the addresses are set and mapped.
	desc, avail, used []byte

	lastAvail  uint16 // the next avail entry to take
	usedIdx    uint16 // the next used entry to fill
	usedFlags  uint16
	unsignaled bool // entries pushed since the last interrupt

	started bool // a kick descriptor arrived and the ring was not stopped since
	enabled bool // with protocol features, the front end enables rings
	kick    *os.File
	call    int // eventfd, or -1
	kicked  chan struct{}
}

func newVring() *vring { return &vring{call: -1, kicked: make(chan struct{}, 1)} }

// running says the data path may use the ring.
func (q *vring) running() bool { return q.started && q.enabled && q.desc != nil }

// layout maps the ring's addresses into mem.
func (q *vring) layout(mem memory) error {
	if q.num == 0 || q.addr == (vringAddr{}) {
		return nil
	}
	n := uint64(q.num)
	desc := mem.user(q.addr.desc, 16*n)
	avail := mem.user(q.addr.avail, 6+2*n)
	used := mem.user(q.addr.used, 6+8*n)
	if desc == nil || avail == nil || used == nil {
		q.desc, q.avail, q.used = nil, nil, nil
		return fmt.Errorf("vhost-user: ring addresses %#x/%#x/%#x outside guest memory", q.addr.desc, q.addr.avail, q.addr.used)
	}
	// The indexes are read and written as aligned 32-bit words.
	if uintptr(unsafe.Pointer(&avail[0]))%4 != 0 || uintptr(unsafe.Pointer(&used[0]))%4 != 0 {
		return fmt.Errorf("vhost-user: ring at %#x/%#x is not 4-byte aligned", q.addr.avail, q.addr.used)
	}
	q.desc, q.avail, q.used = desc, avail, used
	return nil
}

// availWord is the avail ring's flags (low half) and index (high half),
// read with acquire ordering: entries the driver published before the
// index are visible after it.
func (q *vring) availWord() uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&q.avail[0])))
}

// pending says the driver has published buffers not yet taken.
func (q *vring) pending() bool { return uint16(q.availWord()>>16) != q.lastAvail }

// setNotify asks the driver to kick (or not) when it adds buffers.
func (q *vring) setNotify(on bool) {
	if on {
		q.usedFlags &^= usedNoNotify
	} else {
		q.usedFlags |= usedNoNotify
	}
	q.storeUsed()
}

func (q *vring) storeUsed() {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&q.used[0])), uint32(q.usedFlags)|uint32(q.usedIdx)<<16)
}

// loadUsedIdx takes the used index from the ring, where the driver's
// state says how far the device got (a new back end after a restart).
func (q *vring) loadUsedIdx() {
	q.usedIdx = binary.LittleEndian.Uint16(q.used[2:])
}

// segment is one buffer of a descriptor chain.
type segment struct {
	buf      []byte
	writable bool
}

// pop appends the next available chain's segments to segs, or reports ok
// false when there is none.
func (q *vring) pop(mem memory, segs []segment) (head uint16, out []segment, ok bool, err error) {
	if !q.pending() {
		return 0, segs, false, nil
	}
	slot := 4 + 2*uint64(q.lastAvail%q.num)
	head = binary.LittleEndian.Uint16(q.avail[slot:])
	q.lastAvail++
	if head >= q.num {
		return head, segs, true, fmt.Errorf("%w: head %d of %d", errBadChain, head, q.num)
	}
	out, err = q.walk(mem, head, segs)
	return head, out, true, err
}

// walk follows the chain from head, through one indirect table if any.
func (q *vring) walk(mem memory, head uint16, segs []segment) ([]segment, error) {
	table, size := q.desc, uint32(q.num)
	i := uint32(head)
	indirect := false
	for steps := 0; ; steps++ {
		if steps >= int(size) || i >= size {
			return segs, fmt.Errorf("%w: descriptor %d of %d", errBadChain, i, size)
		}
		d := table[16*i:]
		addr := binary.LittleEndian.Uint64(d)
		n := binary.LittleEndian.Uint32(d[8:])
		flags := binary.LittleEndian.Uint16(d[12:])
		next := binary.LittleEndian.Uint16(d[14:])
		if flags&descIndirect != 0 {
			if indirect || n%16 != 0 || n == 0 || n/16 > maxQueueSize {
				return segs, fmt.Errorf("%w: indirect table of %d bytes", errBadChain, n)
			}
			t := mem.guest(addr, uint64(n))
			if t == nil {
				return segs, fmt.Errorf("%w: indirect table at %#x", errBadChain, addr)
			}
			table, size, i, indirect, steps = t, n/16, 0, true, -1
			continue
		}
		b := mem.guest(addr, uint64(n))
		if b == nil {
			return segs, fmt.Errorf("%w: buffer at %#x of %d bytes", errBadChain, addr, n)
		}
		segs = append(segs, segment{buf: b, writable: flags&descWrite != 0})
		if flags&descNext == 0 {
			return segs, nil
		}
		i = uint32(next)
	}
}

// push returns a chain to the driver; the index is published by publish.
func (q *vring) push(head uint16, written uint32) {
	slot := 4 + 8*uint64(q.usedIdx%q.num)
	binary.LittleEndian.PutUint32(q.used[slot:], uint32(head))
	binary.LittleEndian.PutUint32(q.used[slot+4:], written)
	q.usedIdx++
	q.unsignaled = true
}

// publish makes the pushed entries visible (release ordering) and
// interrupts the driver unless it asked not to be.
func (q *vring) publish() {
	if !q.unsignaled {
		return
	}
	q.unsignaled = false
	q.storeUsed()
	if q.availWord()&availNoInterrupt == 0 && q.call >= 0 {
		var one = [8]byte{1}
		_, _ = unix.Write(q.call, one[:])
	}
}

// setKick starts taking kicks from fd; it replaces an earlier one.
func (q *vring) setKick(fd int) error {
	if q.kick != nil {
		q.kick.Close()
		q.kick = nil
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return fmt.Errorf("vhost-user: kick descriptor: %w", err)
	}
	f := os.NewFile(uintptr(fd), "vring-kick")
	q.kick = f
	go func(kicked chan<- struct{}) {
		var b [8]byte
		for {
			if _, err := f.Read(b[:]); err != nil {
				return
			}
			select {
			case kicked <- struct{}{}:
			default:
			}
		}
	}(q.kicked)
	return nil
}

func (q *vring) setCall(fd int) {
	if q.call >= 0 {
		unix.Close(q.call)
	}
	q.call = fd
}

// stop ends the ring's use by the data path; its descriptors stay until
// replaced or closed.
func (q *vring) stop() { q.started = false }

func (q *vring) close() {
	q.stop()
	if q.kick != nil {
		q.kick.Close()
		q.kick = nil
	}
	q.setCall(-1)
}
