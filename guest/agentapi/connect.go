package agentapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/berth-dev/berth/internal/netpipe"
)

// PathConnect opens a TCP connection from inside the guest and carries it
// over the request's connection: the request is a ConnectRequest; the
// answer is 101 Switching Protocols, after which the connection is the
// guest-side stream, half-closes included. It reaches what the private
// network cannot: sockets bound to the guest's IPv6 loopback (`-p
// [::1]:8080:80`), which no IPv4 rewrite can map to.
const PathConnect = "/v1/connect"

// ConnectRequest names the guest address to connect to.
type ConnectRequest struct {
	// Address is a loopback ip:port of the guest, e.g. "[::1]:8080".
	Address string `json:"address"`
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
	if err := checkConnectAddress(req.Address); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Message: err.Error()})
		return
	}
	target, err := net.DialTimeout("tcp", req.Address, connectTimeout)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, ErrorResponse{Message: err.Error()})
		return
	}
	defer target.Close()
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, ErrorResponse{Message: err.Error()})
		return
	}
	defer conn.Close()
	if _, err := io.WriteString(rw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"); err != nil {
		return
	}
	if err := rw.Flush(); err != nil {
		return
	}
	client := conn
	if n := rw.Reader.Buffered(); n > 0 { // the client wrote ahead of our answer
		client = &bufferedConn{Conn: conn, r: rw.Reader}
	}
	netpipe.Pipe(client, target)
}

// Connect opens a connection to a loopback address of the guest (see
// PathConnect).
func (c *Client) Connect(ctx context.Context, address string) (net.Conn, error) {
	conn, err := dialUpgrade(ctx, func(ctx context.Context) (net.Conn, error) {
		return c.dial(ctx, "tcp", agentAddr)
	}, "", PathConnect, "tcp", ConnectRequest{Address: address})
	if err != nil {
		return nil, fmt.Errorf("connecting to guest %s: %w", address, err)
	}
	return conn, nil
}
