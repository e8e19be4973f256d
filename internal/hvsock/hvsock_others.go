//go:build !windows

package hvsock

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

// New is the system's Dialer: none outside Windows.
func New() Dialer { return noHvsock{} }
