//go:build windows

package sockets

import (
	"errors"
	"net"
	"os"
)

// ErrNoDatagram: Windows has no unix datagram sockets.
var ErrNoDatagram = errors.New("unix datagram sockets do not exist on Windows")

// ListenDatagram is not available on Windows.
func ListenDatagram(string) (*net.UnixConn, error) { return nil, ErrNoDatagram }

// DatagramPair is not available on Windows.
func DatagramPair() (a, b *os.File, err error) { return nil, nil, ErrNoDatagram }

// ConnectDatagram is not available on Windows.
func ConnectDatagram(*net.UnixConn, string) error { return ErrNoDatagram }
