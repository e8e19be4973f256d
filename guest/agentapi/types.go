// Package agentapi is the guest agent's HTTP API: the types both sides
// share, the guest's handler, and the client the host agent uses. It
// compiles on every GOOS because the host agent runs on macOS and Windows.
//
// The API listens on the guest's private address at guestconfig.AgentPort
// and the guest's firewall admits only the host agent's gateway address.
package agentapi

import "time"

// Paths of the API.
const (
	PathHealth   = "/v1/health"
	PathShutdown = "/v1/shutdown"
)

// EngineState is the docker engine's state as the guest sees it.
type EngineState string

const (
	EngineStarting   EngineState = "starting"   // not yet answering /_ping
	EngineRunning    EngineState = "running"    // dockerd answers /_ping
	EngineRestarting EngineState = "restarting" // a daemon died and is being restarted
	EngineFailed     EngineState = "failed"     // cannot start; Reason says why
	EngineStopping   EngineState = "stopping"   // shutdown in progress
)

// DiskState is the data disk's state.
type DiskState string

const (
	DiskPending DiskState = "pending" // not looked at yet
	DiskMounted DiskState = "mounted" // mounted at /var/lib/docker, no error
	// DiskMountedWithErrors: mounted, but the check found errors it could
	// not fix (Error says which); the engine runs on it.
	DiskMountedWithErrors DiskState = "mounted-with-errors"
	DiskFailed            DiskState = "failed" // not mounted; Error says why; never reformatted
)

// Health is the answer to GET /v1/health.
type Health struct {
	Engine     Engine        `json:"engine"`
	Containerd ProcessStatus `json:"containerd"`
	Dockerd    ProcessStatus `json:"dockerd"`
	DataDisk   DataDisk      `json:"dataDisk"`
	Memory     Memory        `json:"memory"`
	// Time is the guest's clock when it answered; the host corrects a
	// clock that drifted (after the host slept or the VM was paused).
	Time time.Time `json:"time,omitzero"`
	// UptimeSeconds since the guest init started.
	UptimeSeconds float64 `json:"uptimeSeconds"`
	// KernelRelease is the guest kernel's `uname -r`.
	KernelRelease string `json:"kernelRelease"`
	// Warnings are problems that did not stop the engine (a module that
	// failed to load, a clock that could not be set...), oldest first.
	Warnings []string `json:"warnings,omitempty"`
	// Boot is this boot's timeline, in the order the steps ended.
	Boot []BootMark `json:"boot,omitempty"`
}

// BootMark is one step of the guest's boot, ended At seconds after the
// kernel started (in a WSL distro, whose kernel runs long before, after
// the init started). Steps run partly in parallel (the data disk beside
// the network), so a mark says when a step ended, not how long it took.
type BootMark struct {
	Name string  `json:"name"`
	At   float64 `json:"at"`
}

// Engine summarises the docker engine.
type Engine struct {
	State EngineState `json:"state"`
	// Reason explains a failed or restarting state, exactly.
	Reason string `json:"reason,omitempty"`
	// ReadyAt is when dockerd first answered /_ping on this boot.
	ReadyAt *time.Time `json:"readyAt,omitempty"`
}

// ProcessStatus describes one supervised daemon.
type ProcessStatus struct {
	// State: "starting", "running", "backoff" (waiting to restart),
	// "stopped" or "not-started".
	State    string `json:"state"`
	PID      int    `json:"pid,omitempty"`
	Restarts int    `json:"restarts"`
	// LastExit describes the last exit, with the tail of its output.
	LastExit string `json:"lastExit,omitempty"`
}

// DataDisk describes the persistent disk.
type DataDisk struct {
	Device string    `json:"device"`
	State  DiskState `json:"state"`
	// Formatted is true when this boot created the file system (the disk
	// was blank).
	Formatted bool `json:"formatted,omitempty"`
	// Error is the exact problem, when State is failed or mounted-with-errors.
	Error      string `json:"error,omitempty"`
	SizeBytes  uint64 `json:"sizeBytes,omitempty"`
	FreeBytes  uint64 `json:"freeBytes,omitempty"`
	FreeInodes uint64 `json:"freeInodes,omitempty"`
}

// Memory is the guest's memory, from /proc/meminfo.
type Memory struct {
	TotalBytes     uint64 `json:"totalBytes"`
	AvailableBytes uint64 `json:"availableBytes"`
	// UsedBytes is what processes and the kernel hold beyond caches:
	// MemTotal - MemFree - Buffers - Cached - SReclaimable (free(1)'s
	// "used" before procps 4). Total-Available is larger by the kernel's
	// reserves.
	UsedBytes uint64 `json:"usedBytes"`
}

// ShutdownResponse is the answer to POST /v1/shutdown (202 Accepted).
type ShutdownResponse struct {
	// Status is "shutting-down"; a repeated request gets the same answer.
	Status string `json:"status"`
}

// ErrorResponse is the body of every non-2xx answer.
type ErrorResponse struct {
	Message string `json:"message"`
}
