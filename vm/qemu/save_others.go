//go:build !linux

package qemu

import "context"

// Saving a VM needs the agent's vhost-user network card (a Linux host):
// elsewhere a machine boots on every start.

func (d *Driver) keyFor(accel, shareMode string) string { return "" }

func (d *Driver) tryRestore(ctx context.Context, cands []string) bool { return false }
