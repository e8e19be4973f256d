// Package netpipe joins two connections, byte for byte, passing on
// half-closes: the docker socket bridge, the port forwards and the guest's
// engine proxy all carry streams this way.
package netpipe

import (
	"io"
	"net"
	"sync"
)

// Pipe copies both ways until both directions are done. When one side stops
// sending, the other side's write half is closed, so a client that closes its
// stdin (`docker run -i < file`, `nc -N`) is seen by the other end while the
// answer still flows back.
func Pipe(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); CopyHalf(b, a) }()
	go func() { defer wg.Done(); CopyHalf(a, b) }()
	wg.Wait()
}

// CopyHalf copies src to dst, then closes dst's write half; when that is
// impossible or the copy failed, it ends both connections.
func CopyHalf(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	CloseWrite(dst, src, err)
}

// CloseWrite ends dst's sending side after a copy that ended with err: a
// half-close when dst has one and the copy ended cleanly, else both
// connections close.
func CloseWrite(dst, src net.Conn, err error) {
	if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == nil {
		_ = cw.CloseWrite()
		return
	}
	dst.Close()
	src.Close()
}
