//go:build !linux

package exposure

import (
	"errors"
	"runtime"
)

// Listening lists the sockets process pid listens on; only Linux's /proc
// is read.
func Listening(int) ([]Socket, error) {
	return nil, errors.New("listing a process's sockets: not implemented on " + runtime.GOOS)
}
