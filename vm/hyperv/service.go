// Package hyperv is the Hyper-V machine for Windows without WSL 2: a Linux VM
// run by the Host Compute Service (HCS schema 2), created by the elevated
// berth-service, reached by the unelevated host agent over hvsock.
package hyperv

import "context"

// MachineRequest is everything the elevated service accepts from the user's
// agent about a Hyper-V machine: a name and sizes, never a path, a command
// line or a VM document. The service derives the paths (its own kernel and
// initrd, the machine's disk under its data directory, per user SID) and
// builds the HCS document itself.
type MachineRequest struct {
	// Machine is the machine's name (the store's rules: lower-case letters,
	// digits and '-').
	Machine   string `json:"machine"`
	CPUs      int    `json:"cpus"`
	MemoryMiB int    `json:"memoryMiB"`
	DiskGiB   int    `json:"diskGiB"`
}

// MachineState is the service's answer about one machine.
type MachineState struct {
	// State is "running", "stopped" or "absent".
	State string `json:"state"`
	// VMID is the compute system's id, which hvsock addresses dial
	// (winio.HvsockAddr{VMID: ...}); empty unless running.
	VMID string `json:"vmId,omitempty"`
}

// Manager is what the elevated service does for the Hyper-V driver, on
// behalf of the caller whose SID the service took from the pipe's client
// token (never from the request). The service implements it with HCS; the
// driver reaches it through the service's pipe client, which implements the
// same interface.
type Manager interface {
	Start(ctx context.Context, userSID string, req MachineRequest) (MachineState, error)
	Stop(ctx context.Context, userSID, machine string) error
	State(ctx context.Context, userSID, machine string) (MachineState, error)
}
