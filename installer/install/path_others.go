//go:build !windows

package install

import (
	"errors"
	"fmt"
)

// The user's PATH is a registry value on Windows only; elsewhere berth is
// linked into a folder on PATH.
func addUserPath(string) error {
	return fmt.Errorf("%w: a PATH entry is made on Windows only", errors.ErrUnsupported)
}

func removeUserPath(string) (bool, error) { return false, nil }
