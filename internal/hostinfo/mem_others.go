//go:build !linux && !darwin && !windows

package hostinfo

import "errors"

func memoryBytes() (uint64, error) { return 0, errors.New("host memory is not known on this OS") }
