//go:build !unix && !windows

package hostinfo

import "errors"

func diskFree(string) (uint64, error) { return 0, errors.ErrUnsupported }
