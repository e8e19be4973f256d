//go:build !windows

package portfwd

import (
	"errors"
	"syscall"
)

// addrInUse reports a listen refused because the address is taken.
func addrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
