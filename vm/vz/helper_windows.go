package vz

import "context"

// runHelper refuses on Windows, which has neither Virtualization.framework
// nor unix datagram sockets.
func runHelper(context.Context, HelperOptions, func(Spec, hypervisorFiles) (hypervisor, error)) error {
	return errNoVZ
}
