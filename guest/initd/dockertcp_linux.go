package initd

import (
	"net"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/internal/netpipe"
)

// serveDockerTCP carries the engine's API from the private network to
// dockerd's unix socket. dockerd itself listens on the unix socket only:
// a TCP listener without TLS makes it sleep at every start to warn (and
// future releases refuse it), and the init's own listener is up before
// dockerd, so the host sees "not ready yet" instead of "refused".
func (in *Init) serveDockerTCP() {
	var ln net.Listener
	for {
		var err error
		if ln, err = in.listen(guestconfig.DockerPort); err == nil {
			in.logf("engine API on %s %s", ln.Addr().Network(), ln.Addr())
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
	netpipe.Pipe(c, d)
}
