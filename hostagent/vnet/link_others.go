//go:build !linux

package vnet

import (
	"fmt"

	"github.com/berth-dev/berth/vm"
)

func linkAcceptor(link vm.Link) (acceptor, error) {
	switch link {
	case vm.LinkStream, vm.LinkHvsock:
		return acceptStream, nil
	case vm.LinkVfkit:
		return vfkitAcceptor()
	}
	return nil, fmt.Errorf("network link %q needs a Linux host", link)
}
