//go:build !windows

package wsl2

import "errors"

// noRegistry: the Host Compute Service exists on Windows only.
type noRegistry struct{}

func (noRegistry) ListVMs() ([]string, error) {
	return nil, errors.New("the Host Compute Service's registry exists on Windows only")
}

func newVMLister() vmLister { return noRegistry{} }
