//go:build linux

package vhostuser

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"golang.org/x/sys/unix"
)

// Requests of the vhost-user protocol that the front end (QEMU) sends.
// Only those a net device without protocol features receives are served.
const (
	reqGetFeatures         = 1
	reqSetFeatures         = 2
	reqSetOwner            = 3
	reqResetOwner          = 4
	reqSetMemTable         = 5
	reqSetVringNum         = 8
	reqSetVringAddr        = 9
	reqSetVringBase        = 10
	reqGetVringBase        = 11
	reqSetVringKick        = 12
	reqSetVringCall        = 13
	reqSetVringErr         = 14
	reqGetProtocolFeatures = 15
	reqSetProtocolFeatures = 16
	reqSetVringEnable      = 18
)

// Header flags.
const (
	flagVersion = 0x1 // the only protocol version
	flagReply   = 0x4
)

const (
	headerSize = 12
	// maxPayload bounds a message: the largest one served is the memory
	// table (8 + 8 regions of 32 bytes).
	maxPayload = 4096
	maxRegions = 8
	// vringNoFD in a kick or call message says no descriptor came with it.
	vringNoFD    = 0x100
	vringIdxMask = 0xff
)

// message is one request from the front end.
type message struct {
	req     uint32
	flags   uint32
	payload []byte
	fds     []int
}

// readMessage reads one request and the descriptors that came with it.
// Descriptors beyond what the request uses are the caller's to close.
func readMessage(c *net.UnixConn) (*message, error) {
	var hdr [headerSize]byte
	oob := make([]byte, unix.CmsgSpace(maxRegions*4))
	n, oobn, _, _, err := c.ReadMsgUnix(hdr[:], oob)
	if err != nil {
		return nil, err
	}
	fds, ferr := parseRights(oob[:oobn])
	m := &message{fds: fds}
	if ferr != nil {
		m.closeFDs()
		return nil, ferr
	}
	if n < headerSize {
		if _, err := io.ReadFull(c, hdr[n:]); err != nil {
			m.closeFDs()
			return nil, err
		}
	}
	m.req = binary.LittleEndian.Uint32(hdr[0:])
	m.flags = binary.LittleEndian.Uint32(hdr[4:])
	size := binary.LittleEndian.Uint32(hdr[8:])
	if m.flags&0x3 != flagVersion {
		m.closeFDs()
		return nil, fmt.Errorf("vhost-user: request %d: protocol version %d, want 1", m.req, m.flags&0x3)
	}
	if size > maxPayload {
		m.closeFDs()
		return nil, fmt.Errorf("vhost-user: request %d: payload of %d bytes", m.req, size)
	}
	m.payload = make([]byte, size)
	if _, err := io.ReadFull(c, m.payload); err != nil {
		m.closeFDs()
		return nil, err
	}
	return m, nil
}

func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("vhost-user: control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		r, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		fds = append(fds, r...)
	}
	return fds, nil
}

// takeFD hands the message's only descriptor to the caller.
func (m *message) takeFD() (int, error) {
	if len(m.fds) != 1 {
		m.closeFDs()
		return -1, fmt.Errorf("vhost-user: request %d: %d descriptors, want 1", m.req, len(m.fds))
	}
	fd := m.fds[0]
	m.fds = nil
	return fd, nil
}

func (m *message) closeFDs() {
	for _, fd := range m.fds {
		unix.Close(fd)
	}
	m.fds = nil
}

func (m *message) u64() (uint64, error) {
	if len(m.payload) < 8 {
		return 0, fmt.Errorf("vhost-user: request %d: payload of %d bytes, want 8", m.req, len(m.payload))
	}
	return binary.LittleEndian.Uint64(m.payload), nil
}

// vringState is the payload of the ring-number and ring-base requests.
func (m *message) vringState() (index, num uint32, err error) {
	if len(m.payload) < 8 {
		return 0, 0, fmt.Errorf("vhost-user: request %d: payload of %d bytes, want 8", m.req, len(m.payload))
	}
	return binary.LittleEndian.Uint32(m.payload), binary.LittleEndian.Uint32(m.payload[4:]), nil
}

// reply answers m with payload.
func reply(c *net.UnixConn, m *message, payload []byte) error {
	buf := make([]byte, headerSize+len(payload))
	binary.LittleEndian.PutUint32(buf[0:], m.req)
	binary.LittleEndian.PutUint32(buf[4:], flagVersion|flagReply)
	binary.LittleEndian.PutUint32(buf[8:], uint32(len(payload)))
	copy(buf[headerSize:], payload)
	_, err := c.Write(buf)
	return err
}

func u64Payload(v uint64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, v)
	return b
}

// region is one mapped range of guest memory.
type region struct {
	gpa  uint64 // guest physical address
	uva  uint64 // the front end's address, used for the rings
	data []byte
	mmap []byte // the whole mapping, for munmap
}

// memory is the guest's memory as the front end shared it.
type memory []region

// mapMemTable maps the regions of a memory-table request.
func mapMemTable(m *message) (memory, error) {
	p := m.payload
	if len(p) < 8 {
		return nil, errors.New("vhost-user: memory table too short")
	}
	n := int(binary.LittleEndian.Uint32(p))
	if n == 0 || n > maxRegions || len(p) < 8+32*n || len(m.fds) != n {
		return nil, fmt.Errorf("vhost-user: memory table of %d regions with %d descriptors", n, len(m.fds))
	}
	var mem memory
	for i := 0; i < n; i++ {
		r := p[8+32*i:]
		gpa := binary.LittleEndian.Uint64(r)
		size := binary.LittleEndian.Uint64(r[8:])
		uva := binary.LittleEndian.Uint64(r[16:])
		off := binary.LittleEndian.Uint64(r[24:])
		if size == 0 || size > 1<<40 || off > 1<<40 {
			mem.unmap()
			return nil, fmt.Errorf("vhost-user: memory region %d: size %d at offset %d", i, size, off)
		}
		mapping, err := unix.Mmap(m.fds[i], 0, int(size+off), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			mem.unmap()
			return nil, fmt.Errorf("vhost-user: mapping memory region %d: %w", i, err)
		}
		mem = append(mem, region{gpa: gpa, uva: uva, data: mapping[off : off+size], mmap: mapping})
	}
	return mem, nil
}

func (mem memory) unmap() {
	for _, r := range mem {
		_ = unix.Munmap(r.mmap)
	}
}

// guest is n bytes of guest memory at guest physical address gpa, or nil
// when any of it lies outside the shared regions.
func (mem memory) guest(gpa uint64, n uint64) []byte {
	return mem.at(gpa, n, func(r *region) uint64 { return r.gpa })
}

// user is n bytes at the front end's address uva, or nil.
func (mem memory) user(uva uint64, n uint64) []byte {
	return mem.at(uva, n, func(r *region) uint64 { return r.uva })
}

// at is n bytes at addr, with each region starting at base(region).
func (mem memory) at(addr, n uint64, base func(*region) uint64) []byte {
	for i := range mem {
		r := &mem[i]
		start := base(r)
		if addr >= start && addr-start < uint64(len(r.data)) {
			off := addr - start
			if n > uint64(len(r.data))-off {
				return nil
			}
			return r.data[off : off+n : off+n]
		}
	}
	return nil
}
