package wsl2

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// registryVMs reads the compute systems' ids from the subkeys of path
// under root (hcsComputeSystems under HKLM; a test's key under HKCU). It
// only enumerates subkeys, which a standard user may do there.
type registryVMs struct {
	root registry.Key
	path string
}

func (r registryVMs) ListVMs() ([]string, error) {
	k, err := registry.OpenKey(r.root, r.path, registry.ENUMERATE_SUB_KEYS)
	if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		return nil, nil // HCS makes it with the first compute system
	}
	if err != nil {
		return nil, fmt.Errorf("opening the registry key %s: %w", r.path, err)
	}
	defer k.Close()
	names, err := k.ReadSubKeyNames(-1)
	if err != nil {
		return nil, fmt.Errorf("listing the subkeys of %s: %w", r.path, err)
	}
	return candidateIDs(names), nil
}

func newVMLister() vmLister {
	return registryVMs{root: registry.LOCAL_MACHINE, path: hcsComputeSystems}
}
