package vnet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/containers/gvisor-tap-vsock/pkg/types"
)

// DialTCP connects to addr (ip:port) on the virtual network: the guest's
// address, or its loopback alias.
func (n *Network) DialTCP(ctx context.Context, addr string) (net.Conn, error) {
	c, err := n.vn.DialContextTCP(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("dialing guest %s: %w", addr, err)
	}
	return c, nil
}

// ExposeUDP relays UDP from the host address local to remote on the
// virtual network until the returned Closer is closed. It uses
// gvisor-tap-vsock's forwarder, in-process: the stack that can send UDP
// into the network is reachable only through it. Closing unexposes, which
// closes the host socket and every session's endpoint.
func (n *Network) ExposeUDP(local, remote string) (io.Closer, error) {
	if err := n.services("/services/forwarder/expose", types.ExposeRequest{Local: local, Remote: remote, Protocol: types.UDP}); err != nil {
		return nil, err
	}
	return udpExposure{n: n, local: local}, nil
}

type udpExposure struct {
	n     *Network
	local string
}

func (u udpExposure) Close() error {
	return u.n.services("/services/forwarder/unexpose", types.UnexposeRequest{Local: u.local, Protocol: types.UDP})
}

// services calls the network's service API in-process.
func (n *Network) services(path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, "http://vnet"+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	w := &recorder{header: http.Header{}, code: http.StatusOK}
	n.mux.ServeHTTP(w, req)
	if w.code != http.StatusOK {
		return fmt.Errorf("%s", strings.TrimSpace(w.body.String()))
	}
	return nil
}

// recorder is the smallest http.ResponseWriter.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }
