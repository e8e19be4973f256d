//go:build !windows

package wsl2

import "fmt"

// noRegistry: the Host Compute Service exists on Windows only.
type noRegistry struct{}

func (noRegistry) ListVMs() ([]string, error) {
	return nil, fmt.Errorf(`the Host Compute Service's registry (HKLM\%s) exists on Windows only`, hcsComputeSystems)
}

func newVMLister() vmLister { return noRegistry{} }
