// Package api is the host agent's control API: the types it speaks and a
// client. The CLI and the tray use it; so can anything else that runs as
// the same user. The transport is HTTP over the machine's agent socket (a
// named pipe on Windows), reachable by the owning user only.
//
//	GET  /v1/status   the machine's Status (a VM the resource saver paused
//	                  is StatePaused, with PausedSince; asking does not wake it)
//	GET  /v1/events   a stream of Event, one JSON object per line; the
//	                  first is always the current status
//	GET  /v1/debug/engine-rtt?n=N
//	                  times N docker API calls from the agent straight to
//	                  the guest (the baseline for the socket bridge)
//	GET  /v1/debug/resources
//	                  the agent process's goroutines, open files and memory
//	                  (Resources), which a load test sees come back
//	POST /v1/stop     begin a graceful stop (202); follow /v1/events or wait
//	                  for the agent to exit
//	POST /v1/stop?standby=true
//	                  stop the machine, and keep the agent up (Status.Standby)
//	                  while a dashboard page is open, so the page can start it
//	                  again; once no page has been open for 15 s (a reload),
//	                  the agent exits as after POST /v1/stop (202)
//	POST /v1/start    start a stopped machine whose agent stands by, in that
//	                  agent; body StartRequest (may be empty); 202, 400 with
//	                  every problem of an invalid config, 409 when the
//	                  machine is not stopped or the agent is exiting
//	POST /v1/restart  stop the VM and boot it again in this agent (the config
//	                  is read again; the dashboard keeps its address); the
//	                  config is validated first: 400 with every problem, and
//	                  nothing stopped; 202, 409 when the agent is exiting
//	GET  /v1/forwards every port forward ([portfwd.Forward]): host address,
//	                  guest target, protocol, source (docker, guest, manual),
//	                  container, state (active, failed with a reason)
//	POST /v1/forwards add a manual forward, body {"spec": "[HOSTIP:]HOSTPORT[:GUESTPORT][/udp]"};
//	                  saved across restarts; 200 with the forwards it made
//	                  (a failed one is retried until its host port frees);
//	                  400 on a bad spec, 409 before the engine runs
//	DELETE /v1/forwards?spec=SPEC
//	                  remove a manual forward (404 when there is none)
//	POST /v1/forwards/paused
//	                  body {"proto":"tcp","hostPort":8080}: close the host
//	                  listeners of that port, whatever made the forward (a
//	                  published port, a guest listener, a manual forward);
//	                  204. The forwards stay listed in GET /v1/forwards with
//	                  state "paused", and a "forward" event with that state
//	                  follows (the tray's "Stop forwarding")
//	DELETE /v1/forwards/paused?proto=tcp&port=8080
//	                  forward it again; 204, 404 when not paused
//	POST /v1/exec     run a command in the VM (berth shell): an
//	                  agentapi.ExecRequest, then 101 and exec frames
//	GET  /v1/logs/{name}
//	                  the engine's logs: dockerd, containerd
//	GET  /v1/dashboard
//	                  the dashboard's address (a Dashboard), with this
//	                  start's token: for the owning user only; 404 when
//	                  the config turns it off
//
// This list is the only description of the routes: the handlers in
// package hostagent refer to it.
//
// A pause lives in the agent's memory and ends by itself when nothing wants
// that port any more (the container stopped): a new container on the port
// is forwarded as usual, and a restart of the machine forwards everything.
//
// Events of type "forward" carry a Forward each time one opens, fails,
// changes owner or closes (state "closed"): with GET /v1/forwards for the
// initial list, a follower keeps an exact view.
package api

import (
	"time"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/portfwd"
)

// State of a machine, as shown to users.
type State string

const (
	StateStopped  State = "stopped"
	StateStarting State = "starting"
	StateRunning  State = "running"
	StateDegraded State = "degraded"
	// StatePaused: the resource saver paused the idle VM (its CPUs stop,
	// its memory stays); the next docker request, connection to a
	// forwarded port or shell resumes it. Status.PausedSince says since when.
	StatePaused   State = "paused"
	StateStopping State = "stopping"
	StateError    State = "error"
)

// Up reports whether the machine's engine is there to use: running,
// degraded, or paused (resumed by the first use).
func (s State) Up() bool {
	return s == StateRunning || s == StateDegraded || s == StatePaused
}

// Status is a snapshot of a machine.
type Status struct {
	Machine string `json:"machine"`
	State   State  `json:"state"`
	// Phase details a starting or stopping machine ("booting", "engine").
	Phase string `json:"phase,omitempty"`
	// Error says what went wrong in StateError or StateDegraded.
	Error string `json:"error,omitempty"`
	// Warnings are the guest's problems that did not stop the engine (a
	// full data disk whose reserve was released, a file system that could
	// not grow), as its last health report gave them.
	Warnings []string `json:"warnings,omitempty"`

	Driver      string `json:"driver,omitempty"`
	Accelerator string `json:"accelerator,omitempty"`
	// AccelNote explains a fallback to a slower accelerator.
	AccelNote string `json:"accelNote,omitempty"`
	// FileSharing is how shared folders reach the VM ("virtiofs", "9p");
	// FileSharingNote says why it is not virtiofs, or why folders are not
	// shared at all. Shares are the shared host folders.
	FileSharing     string   `json:"fileSharing,omitempty"`
	FileSharingNote string   `json:"fileSharingNote,omitempty"`
	Shares          []string `json:"shares,omitempty"`

	DockerHost string `json:"dockerHost"`
	// DefaultEngine is the engine Docker's default pipe carries when the
	// agent serves it (Windows): "linux" or "windows"; empty otherwise.
	DefaultEngine string `json:"defaultEngine,omitempty"`
	DockerSocket  string `json:"dockerSocket,omitempty"`
	ImageVersion  string `json:"imageVersion,omitempty"`
	// EngineVersion is dockerd's version.
	EngineVersion string `json:"engineVersion,omitempty"`
	CPUs          int    `json:"cpus,omitempty"`
	MemoryMiB     int    `json:"memoryMiB,omitempty"`
	// DiskBytes and DiskFreeBytes are the data disk's file system, as the
	// guest's last health report (every 5 s) gave them; a change of these
	// alone is no event.
	DiskBytes     uint64 `json:"diskBytes,omitempty"`
	DiskFreeBytes uint64 `json:"diskFreeBytes,omitempty"`

	// ConfigDigest identifies the config the machine started with; a
	// different digest of the file now means a restart would change it.
	ConfigDigest string `json:"configDigest,omitempty"`

	AgentPID int `json:"agentPID,omitempty"`
	VMPID    int `json:"vmPID,omitempty"`

	StartedAt time.Time `json:"startedAt,omitzero"`
	// ReadyAt is when the engine first answered.
	ReadyAt time.Time `json:"readyAt,omitzero"`
	// PausedSince is when the resource saver paused the VM (StatePaused).
	PausedSince time.Time `json:"pausedSince,omitzero"`
	// Timeline is the last start's, once the engine answered.
	Timeline *Timeline `json:"timeline,omitempty"`
	// Standby: the machine is stopped (or its start failed) and the agent
	// stays up because a dashboard page is open; POST /v1/start starts it
	// again in this agent. The agent exits once no page is open.
	Standby bool `json:"standby,omitempty"`
}

// StartRequest is the body of POST /v1/start: what `berth start` was told
// (empty: what the agent was started with).
type StartRequest struct {
	Driver string `json:"driver,omitempty"`
	Accel  string `json:"accel,omitempty"`
}

// Timeline is where a start's time went: the agent's stages, in order,
// and the guest's boot as the guest init saw it.
type Timeline struct {
	Stages []Stage `json:"stages"`
	// Guest is the guest's boot: when each of its steps ended, in seconds
	// since its kernel started (WSL: since the init started). Empty for a
	// VM that was adopted, or a guest too old to tell.
	Guest []agentapi.BootMark `json:"guest,omitempty"`
	// Adopted: the VM was running already (an earlier agent's).
	Adopted bool `json:"adopted,omitempty"`
	// Restored: the VM was restored from the one saved at the last stop
	// (fastStart), not booted; Guest is then empty.
	Restored bool `json:"restored,omitempty"`
}

// Stage is one stage of the agent's start and how long it took.
type Stage struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// Event is one line of /v1/events.
type Event struct {
	Time time.Time `json:"time"`
	// Type is "status" for state changes; more types come with the features
	// that emit them.
	Type   string  `json:"type"`
	Status *Status `json:"status,omitempty"`
	// Forward is set on "forward" events.
	Forward *portfwd.Forward `json:"forward,omitempty"`
}

// Dashboard is where the machine's web page is.
type Dashboard struct {
	// URL is the page's address with this start's token; the first load
	// trades the token for a cookie.
	URL string `json:"url"`
}

// RTT holds round-trip times, in nanoseconds.
type RTT struct {
	Nanos []int64 `json:"nanos"`
}

// Resources is what the agent process holds (GET /v1/debug/resources):
// the figures a load test watches come back to where they started.
type Resources struct {
	Goroutines int `json:"goroutines"`
	// FDs is the count of open files and sockets; -1 where the system
	// offers no cheap count (Windows).
	FDs int `json:"fds"`
	// HeapBytes is the Go heap in use; SysBytes all the runtime holds from
	// the system.
	HeapBytes uint64 `json:"heapBytes"`
	SysBytes  uint64 `json:"sysBytes"`
}
