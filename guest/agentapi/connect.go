package agentapi

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/berth-dev/berth/internal/netpipe"
)

// PathConnect opens a connection from inside the guest and carries it over
// the request's connection: the request is a ConnectRequest; the answer is
// 101 Switching Protocols, after which the connection is the guest-side
// TCP stream, half-closes included, or for UDP a stream of datagrams, each
// framed by WriteDatagram. It reaches what the private network cannot:
// sockets bound to the guest's IPv6 loopback (`-p [::1]:8080:80`), which no
// IPv4 rewrite can map to.
const PathConnect = "/v1/connect"

// ConnectRequest names the guest address to connect to.
type ConnectRequest struct {
	// Network is "tcp" (the default) or "udp".
	Network string `json:"network,omitempty"`
	// Address is a loopback ip:port of the guest, e.g. "[::1]:8080".
	Address string `json:"address"`
}

// maxDatagram is the largest UDP payload.
const maxDatagram = 65535

// WriteDatagram writes one datagram to a UDP connect stream: a big-endian
// uint16 length, then the payload.
func WriteDatagram(w io.Writer, p []byte) error {
	if len(p) > maxDatagram {
		return fmt.Errorf("datagram of %d bytes is too large", len(p))
	}
	b := make([]byte, 2+len(p))
	binary.BigEndian.PutUint16(b, uint16(len(p)))
	copy(b[2:], p)
	_, err := w.Write(b)
	return err
}

// ReadDatagram reads one datagram of a UDP connect stream into buf (of
// maxDatagram bytes or more) and returns its length.
func ReadDatagram(r io.Reader, buf []byte) (int, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint16(h[:]))
	if n > len(buf) {
		return 0, fmt.Errorf("datagram of %d bytes does not fit a buffer of %d", n, len(buf))
	}
	k, err := io.ReadFull(r, buf[:n])
	if errors.Is(err, io.EOF) {
		// A length without its datagram is a cut stream, not the end.
		err = io.ErrUnexpectedEOF
	}
	return k, err
}

// connectTimeout bounds the guest-side dial: a loopback port either
// answers or refuses at once.
const connectTimeout = 5 * time.Second

// checkConnectAddress accepts loopback addresses only: everything else in
// the guest is reachable over the private network directly.
func checkConnectAddress(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: want ip:port, e.g. [::1]:8080", addr)
	}
	if !ap.Addr().IsLoopback() || ap.Port() == 0 {
		return fmt.Errorf("address %q: only a loopback address with a port can be connected to", addr)
	}
	return nil
}

func serveConnect(w http.ResponseWriter, r *http.Request) {
	var req ConnectRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Message: "connect request: " + err.Error()})
		return
	}
	if req.Network == "" {
		req.Network = "tcp"
	}
	if req.Network != "tcp" && req.Network != "udp" {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Message: fmt.Sprintf("network %q: want tcp or udp", req.Network)})
		return
	}
	if err := checkConnectAddress(req.Address); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Message: err.Error()})
		return
	}
	target, err := net.DialTimeout(req.Network, req.Address, connectTimeout)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, ErrorResponse{Message: err.Error()})
		return
	}
	defer target.Close()
	conn, rw, ok := switchProtocols(w, req.Network)
	if !ok {
		return
	}
	defer conn.Close()
	client := conn
	if n := rw.Reader.Buffered(); n > 0 { // the client wrote ahead of our answer
		client = &bufferedConn{Conn: conn, r: rw.Reader}
	}
	if req.Network == "udp" {
		relayDatagrams(client, target)
		return
	}
	netpipe.Pipe(client, target)
}

// relayDatagrams carries framed datagrams from stream to the UDP socket and
// its answers back, until the stream ends.
func relayDatagrams(stream, udp net.Conn) {
	go func() {
		buf := make([]byte, maxDatagram)
		for {
			n, err := udp.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // an ICMP refusal: the target may come back
			}
			if WriteDatagram(stream, buf[:n]) != nil {
				return
			}
		}
	}()
	buf := make([]byte, maxDatagram)
	for {
		n, err := ReadDatagram(stream, buf)
		if err != nil {
			udp.Close()
			return
		}
		_, _ = udp.Write(buf[:n])
	}
}

// Connect opens a TCP connection to a loopback address of the guest (see
// PathConnect).
func (c *Client) Connect(ctx context.Context, address string) (net.Conn, error) {
	return c.connect(ctx, "tcp", address)
}

// ConnectUDP opens a datagram stream to a UDP loopback address of the
// guest: WriteDatagram sends one, ReadDatagram reads an answer.
func (c *Client) ConnectUDP(ctx context.Context, address string) (net.Conn, error) {
	return c.connect(ctx, "udp", address)
}

func (c *Client) connect(ctx context.Context, network, address string) (net.Conn, error) {
	conn, err := dialUpgrade(ctx, func(ctx context.Context) (net.Conn, error) {
		return c.dial(ctx, "tcp", agentAddr)
	}, "", PathConnect, network, ConnectRequest{Network: network, Address: address})
	if err != nil {
		return nil, fmt.Errorf("connecting to guest %s %s: %w", network, address, err)
	}
	return conn, nil
}
