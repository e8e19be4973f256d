package initd

import (
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
)

// serveDockerTCP carries the engine's API from the private network to
// dockerd's unix socket. dockerd itself listens on the unix socket only:
// a TCP listener without TLS makes it sleep at every start to warn (and
// future releases refuse it), and the init's own listener is up before
// dockerd, so the host sees "not ready yet" instead of "refused".
func (in *Init) serveDockerTCP(ip netip.Addr) {
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(guestconfig.DockerPort))
	var ln net.Listener
	for {
		var err error
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		in.logf("engine TCP proxy: %v; retrying", err)
		time.Sleep(time.Second)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			in.logf("engine TCP proxy: %v", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		go proxyToDocker(c)
	}
}

func proxyToDocker(c net.Conn) {
	defer c.Close()
	d, err := net.DialTimeout("unix", dockerSock, 5*time.Second)
	if err != nil {
		return // dockerd is not up yet: the client retries
	}
	defer d.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); halfCopy(d, c) }()
	go func() { defer wg.Done(); halfCopy(c, d) }()
	wg.Wait()
}

// halfCopy copies until src ends, then closes dst's write half so the
// other side sees EOF while its answer can still flow back.
func halfCopy(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == nil {
		_ = cw.CloseWrite()
		return
	}
	dst.Close()
	src.Close()
}
