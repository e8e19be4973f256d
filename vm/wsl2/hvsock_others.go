//go:build !windows

package wsl2

import (
	"context"
	"errors"
	"net"
)

// noHvsock: Hyper-V sockets exist on Windows only.
type noHvsock struct{}

func (noHvsock) DialHvsock(context.Context, string, uint32) (net.Conn, error) {
	return nil, errors.New("hvsock: Hyper-V sockets exist on Windows only")
}

func newHvsockDialer() hvsockDialer { return noHvsock{} }
