package portfwd

import (
	"errors"

	"golang.org/x/sys/windows"
)

// addrInUse reports a listen refused because the address is taken.
func addrInUse(err error) bool { return errors.Is(err, windows.WSAEADDRINUSE) }
