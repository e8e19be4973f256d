// Package exposure lists the sockets a process listens on and says which
// of them others could reach: a TCP or UDP socket beyond the loopback, or
// a unix socket whose file or directory lets group or others connect (or
// that is abstract, which no file mode guards). Berth's tests audit the
// host agent with it; the listing reads Linux's /proc, the judging is pure.
package exposure

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// Socket is one listening socket.
type Socket struct {
	// Proto is tcp, udp (either IP version) or unix.
	Proto string
	// Addr is the address of a tcp or udp socket.
	Addr netip.AddrPort
	// Path is where a unix socket was bound ("@name" when abstract), a
	// Linux path; a socket moved after its bind shows the name it was
	// bound at.
	Path  string
	Inode uint64
}

func (s Socket) String() string {
	if s.Proto == "unix" {
		return "unix " + s.Path
	}
	return s.Proto + " " + s.Addr.String()
}

// Kernel states of /proc/net/{tcp,udp}*: a listening TCP socket, and a
// bound UDP socket that is not connected (one that takes datagrams from
// anyone).
const (
	tcpListen = 0x0A
	udpBound  = 0x07
)

// ParseInet reads /proc/net/{tcp,tcp6,udp,udp6} (proto "tcp" or "udp") and
// returns its listening sockets.
func ParseInet(r io.Reader, proto string) ([]Socket, error) {
	want := tcpListen
	if proto == "udp" {
		want = udpBound
	}
	var out []Socket
	sc := bufio.NewScanner(r)
	for first := true; sc.Scan(); first = false {
		f := strings.Fields(sc.Text())
		if first || len(f) < 10 {
			continue // the header
		}
		st, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("%s line %q: state: %w", proto, sc.Text(), err)
		}
		if int(st) != want {
			continue
		}
		ap, err := parseHexEndpoint(f[1])
		if err != nil {
			return nil, fmt.Errorf("%s line %q: %w", proto, sc.Text(), err)
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s line %q: inode: %w", proto, sc.Text(), err)
		}
		out = append(out, Socket{Proto: proto, Addr: ap, Inode: inode})
	}
	return out, sc.Err()
}

// parseHexEndpoint reads "0100007F:1F90" or a 32-digit IPv6 address: the
// kernel prints each 32-bit word in host byte order, little-endian on
// every architecture Berth runs on.
func parseHexEndpoint(s string) (netip.AddrPort, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("endpoint %q: no port", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("endpoint %q: %w", s, err)
	}
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("endpoint %q: bad address", s)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	ip, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}

// Flags and types of /proc/net/unix.
const (
	soAcceptCon = 0x10000 // a listening stream or seqpacket socket
	sockDgram   = 2
)

// ParseUnix reads /proc/net/unix and returns the sockets others could
// connect or send to: listening ones, and bound datagram ones.
func ParseUnix(r io.Reader) ([]Socket, error) {
	var out []Socket
	sc := bufio.NewScanner(r)
	for first := true; sc.Scan(); first = false {
		f := strings.Fields(sc.Text())
		if first || len(f) < 7 {
			continue
		}
		flags, err1 := strconv.ParseUint(f[3], 16, 32)
		typ, err2 := strconv.ParseUint(f[4], 16, 16)
		inode, err3 := strconv.ParseUint(f[6], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("unix line %q: not the kernel's format", sc.Text())
		}
		path := ""
		if len(f) > 7 {
			path = strings.Join(f[7:], " ")
		}
		if path == "" || flags&soAcceptCon == 0 && typ != sockDgram {
			continue // unnamed, or connected: nobody can reach it anew
		}
		out = append(out, Socket{Proto: "unix", Path: path, Inode: inode})
	}
	return out, sc.Err()
}

// Policy is what the user asked to expose.
type Policy struct {
	// Published are the tcp or udp addresses the user asked for (a port
	// published on every address): these may listen beyond the loopback.
	Published []Socket
}

func (p Policy) allows(s Socket) bool {
	for _, a := range p.Published {
		if a.Proto == s.Proto && a.Addr == s.Addr {
			return true
		}
	}
	return false
}

// Stat is os.Stat, for Audit.
type Stat func(path string) (fs.FileInfo, error)

// Audit returns one error for each socket others could reach: tcp or udp
// beyond the loopback unless p allows it, an abstract unix socket, or a
// unix socket that group or others may write (connect to), or whose
// nearest existing directory they may search.
func Audit(socks []Socket, p Policy, stat Stat) []error {
	var errs []error
	for _, s := range socks {
		if err := audit(s, p, stat); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func audit(s Socket, p Policy, stat Stat) error {
	switch {
	case s.Proto == "unix" && strings.HasPrefix(s.Path, "@"):
		return fmt.Errorf("%s: an abstract socket, which any process of the host can reach", s)
	case s.Proto == "unix":
		// Connecting takes write permission on the file and search
		// permission on each directory above it.
		if fi, err := stat(s.Path); err == nil && fi.Mode().Perm()&0o022 != 0 {
			return fmt.Errorf("%s: mode %v, writable by group or others", s, fi.Mode().Perm())
		}
		for dir := path.Dir(s.Path); ; dir = path.Dir(dir) {
			fi, err := stat(dir)
			if err == nil {
				if fi.Mode().Perm()&0o011 != 0 {
					return fmt.Errorf("%s: its directory %s has mode %v, open to group or others", s, dir, fi.Mode().Perm())
				}
				return nil
			}
			if dir == path.Dir(dir) {
				return fmt.Errorf("%s: no directory above it exists", s)
			}
		}
	case !s.Addr.Addr().IsLoopback() && !p.allows(s):
		return fmt.Errorf("%s: listens beyond the loopback, and nobody asked for it", s)
	}
	return nil
}
