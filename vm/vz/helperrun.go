package vz

import (
	"context"
	"log/slog"
	"time"
)

// HelperOptions configure one helper process (`berth vz-helper`).
type HelperOptions struct {
	// StateDir is the machine directory: the driver wrote the Spec there.
	StateDir string
	Log      *slog.Logger
}

// RunHelper runs the machine's VM in this process until it stops: the
// process is the VM, as a QEMU process is. It holds the pidfile, serves the
// control socket, relays the card's frames to the agent's network, and on
// ctx's end (a signal) powers the guest off as a stop request does. It
// removes its files when the VM is done. Without Virtualization.framework
// in this build it refuses at once (errNoVZ), creating nothing.
func RunHelper(ctx context.Context, o HelperOptions) error {
	return runHelper(ctx, o, newHypervisor)
}

// defaultGrace is how long a stop waits for the guest to power off before
// it ends the VM, when the request names no grace (a signal).
const defaultGrace = 30 * time.Second
