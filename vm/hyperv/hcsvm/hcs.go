package hcsvm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/vm/hyperv"
)

// computeService is what the Manager needs of the Host Compute Service:
// computecore.dll on Windows (computecore_windows.go), a fake in tests.
// Each call opens the compute system by id and closes its handle again:
// the service holds no handle between requests, and the VM does not end
// with one (ShouldTerminateOnLastHandleClosed is false).
type computeService interface {
	// Create registers the compute system id from its JSON document; it
	// does not start it.
	Create(ctx context.Context, id, document string) error
	Start(ctx context.Context, id string) error
	// Shutdown asks the guest to shut down (Hyper-V's shutdown
	// integration service, hv_utils in the guest); the VM stops later.
	Shutdown(ctx context.Context, id string) error
	// Terminate ends the VM at once.
	Terminate(ctx context.Context, id string) error
	// Properties is the compute system's state; errNotFound when HCS has
	// no compute system of that id.
	Properties(ctx context.Context, id string) (systemProperties, error)
	// Close forgets a stopped compute system, so the id can be created
	// again.
	Close(ctx context.Context, id string) error
}

// errNotFound: HCS has no compute system of that id.
var errNotFound = errors.New("no such compute system")

// systemProperties is what HcsGetComputeSystemProperties answers (schema 1
// properties: the default query), as far as the Manager reads it.
type systemProperties struct {
	// State: "Created", "Running", "Paused", "Stopped", ... .
	State string `json:"State"`
	// RuntimeID is the VM's id, which Hyper-V sockets address.
	RuntimeID string `json:"RuntimeId"`
	// Stopped is set once the VM has stopped.
	Stopped bool `json:"Stopped"`
}

// parseProperties reads HCS's answer; a running VM must tell its runtime id.
func parseProperties(b []byte) (systemProperties, error) {
	var p systemProperties
	if err := json.Unmarshal(b, &p); err != nil {
		return systemProperties{}, fmt.Errorf("the compute system's properties: %w", err)
	}
	if p.State == "" {
		return systemProperties{}, errors.New("the compute system's properties: no State")
	}
	if p.running() {
		m := guidRE.FindStringSubmatch(p.RuntimeID)
		if m == nil {
			return systemProperties{}, fmt.Errorf("the compute system's properties: RuntimeId %q is not a GUID", p.RuntimeID)
		}
		p.RuntimeID = m[1]
	}
	return p, nil
}

func (p systemProperties) running() bool { return p.State == "Running" && !p.Stopped }

// stateOf is the MachineState of a compute system's properties.
func stateOf(p systemProperties) hyperv.MachineState {
	if p.running() {
		return hyperv.MachineState{State: hyperv.StateRunning, VMID: p.RuntimeID}
	}
	return hyperv.MachineState{State: hyperv.StateStopped}
}
