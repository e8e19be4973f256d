//go:build !linux

package vnet

import (
	"fmt"

	"github.com/berth-dev/berth/vm"
)

func linkAcceptor(link vm.Link) (acceptor, error) {
	switch {
	case link == vm.LinkStream || link == vm.LinkHvsock:
		return acceptStream, nil
	case link == vm.LinkVfkit && vfkitLinks:
		return acceptVfkit, nil
	case link == vm.LinkVfkit:
		return nil, fmt.Errorf("network link %q needs unix datagram sockets (macOS, Linux)", link)
	}
	return nil, fmt.Errorf("network link %q needs a Linux host", link)
}
