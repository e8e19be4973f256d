//go:build !linux

package vnet

import (
	"fmt"

	"github.com/berth-dev/berth/vm"
)

func linkAcceptor(link vm.Link) (acceptor, error) {
	if link == vm.LinkStream || link == vm.LinkHvsock {
		return acceptStream, nil
	}
	return nil, fmt.Errorf("network link %q needs a Linux host", link)
}
