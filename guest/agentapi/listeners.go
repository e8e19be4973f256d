package agentapi

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// PathListeners lists the sockets listening in the guest's own network
// namespace (not those inside containers' namespaces).
const PathListeners = "/v1/listeners"

// Listener is one listening socket: a TCP socket in LISTEN state, or an
// unconnected bound UDP socket.
type Listener struct {
	Proto string `json:"proto"` // "tcp" or "udp"
	IP    string `json:"ip"`    // the bound address; 0.0.0.0 or :: for all
	Port  int    `json:"port"`
	// Process is the command name (comm) of the process holding the
	// socket, when known: the host agent leaves the engine's own
	// docker-proxy to the published-port path.
	Process string `json:"process,omitempty"`
	inode   string
}

// ListenerSource is an optional Backend ability: the handler uses it when
// present, else it reads /proc/net itself.
type ListenerSource interface {
	Listeners(ctx context.Context) ([]Listener, error)
}

// Listeners returns the guest's listening sockets.
func (c *Client) Listeners(ctx context.Context) ([]Listener, error) {
	var ls []Listener
	err := c.do(ctx, http.MethodGet, PathListeners, http.StatusOK, &ls)
	return ls, err
}

func serveListeners(b Backend) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var ls []Listener
		var err error
		if src, ok := b.(ListenerSource); ok {
			ls, err = src.Listeners(r.Context())
		} else {
			ls, err = ReadListeners("/proc/net")
		}
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, ErrorResponse{Message: err.Error()})
			return
		}
		if ls == nil {
			ls = []Listener{}
		}
		writeJSON(w, http.StatusOK, ls)
	}
}

// ReadListeners reads tcp, tcp6, udp and udp6 from a /proc/net directory.
// A missing file (no IPv6) is skipped. The result is sorted and has no
// duplicates.
func ReadListeners(dir string) ([]Listener, error) {
	var out []Listener
	for _, name := range []string{"tcp", "tcp6", "udp", "udp6"} {
		f, err := os.Open(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ls, err := ParseProcNet(f, strings.TrimSuffix(name, "6"))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, ls...)
	}
	owners := socketOwners(filepath.Dir(dir))
	for i := range out {
		out[i].Process = owners[out[i].inode]
		out[i].inode = ""
	}
	slices.SortFunc(out, func(a, b Listener) int {
		if c := strings.Compare(a.Proto, b.Proto); c != 0 {
			return c
		}
		if a.Port != b.Port {
			return a.Port - b.Port
		}
		return strings.Compare(a.IP, b.IP)
	})
	return slices.Compact(out), nil
}

// Socket states of /proc/net/{tcp,udp}.
const (
	tcpListen = "0A"
	udpClose  = "07" // a bound, unconnected UDP socket
)

// ParseProcNet parses one /proc/net/{tcp,tcp6,udp,udp6} table and returns
// its listening sockets.
func ParseProcNet(r io.Reader, proto string) ([]Listener, error) {
	var out []Listener
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 {
			continue
		}
		local, remote, st := fs[1], fs[2], fs[3]
		switch {
		case proto == "tcp" && st == tcpListen:
		case proto == "udp" && st == udpClose && isZeroEndpoint(remote):
		default:
			continue
		}
		ip, port, err := parseHexEndpoint(local)
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", sc.Text(), err)
		}
		if port == 0 {
			continue
		}
		l := Listener{Proto: proto, IP: ip.String(), Port: port}
		if len(fs) > 9 {
			l.inode = fs[9]
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

func isZeroEndpoint(s string) bool {
	return strings.Trim(s, "0:") == ""
}

// parseHexEndpoint reads "0100007F:1F90" (IPv4) or a 32-digit IPv6
// address: the kernel prints each 32-bit word in host byte order, which is
// little-endian on every architecture the guest runs on.
func parseHexEndpoint(s string) (netip.Addr, int, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.Addr{}, 0, fmt.Errorf("endpoint %q: no port", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("endpoint %q: %w", s, err)
	}
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.Addr{}, 0, fmt.Errorf("endpoint %q: bad address", s)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	ip, _ := netip.AddrFromSlice(raw)
	return ip.Unmap(), int(port), nil
}

// socketOwners maps socket inodes to the command name of a process that
// holds them, from a /proc directory; what cannot be read is left out.
func socketOwners(proc string) map[string]string {
	owners := map[string]string{}
	pids, _ := os.ReadDir(proc)
	for _, p := range pids {
		if p.Name()[0] < '0' || p.Name()[0] > '9' {
			continue
		}
		fds, err := os.ReadDir(filepath.Join(proc, p.Name(), "fd"))
		if err != nil {
			continue
		}
		var comm string
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(proc, p.Name(), "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(target, "socket:[") {
				continue
			}
			if comm == "" {
				b, _ := os.ReadFile(filepath.Join(proc, p.Name(), "comm"))
				comm = strings.TrimSpace(string(b))
			}
			owners[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = comm
		}
	}
	return owners
}
