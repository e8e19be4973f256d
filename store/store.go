// Package store names every file and socket of Berth's state directory, in
// one place. The layout is
//
//	$BERTH_HOME (default ~/.berth)
//	├── config.yaml           the user's configuration (package config)
//	├── tray.json             the tray's own settings
//	├── tray.log              the tray's log
//	├── tray.sock             the running tray (one per user)
//	├── docker-context-previous  the docker context before `berth context use`
//	└── <machine>/            one directory per machine ("default")
//	    ├── machine.json      the machine as created (resources, image)
//	    ├── data.img          the engine's persistent disk (sparse, raw), when the agent makes it
//	    ├── initrd.img        image initramfs + this boot's guest config, for drivers that boot a kernel
//	    ├── guest.json        this boot's guest config, for drivers that do not
//	    ├── hostagent.pid     the host agent's pidfile
//	    ├── hostagent.log     its JSON log
//	    ├── agent.sock        the control API (owner only)
//	    ├── docker.sock       the docker socket bridge (owner only)
//	    ├── net.sock          where the VM's card joins the virtual network
//	    ├── boot.json         the config the running VM booted with
//	    ├── serial.log        the guest console
//	    ├── forwards.json     the manual port forwards (`berth forward add`)
//	    └── ...               the driver's own files, which it declares
//	                          (vm.Capabilities: RuntimeFiles, LogFiles)
//
// On Windows the two user-facing sockets, and the tray's, are named pipes
// instead (see PipeName), and the engine is also offered on Docker's default
// pipe, DockerEnginePipe, when nobody else serves it.
package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// EnvHome overrides the state directory.
const EnvHome = "BERTH_HOME"

// DefaultMachine is the machine's name when none is given.
const DefaultMachine = "default"

// File names inside a machine directory.
const (
	MachineFile   = "machine.json"
	DataDisk      = "data.img"
	InitrdFile    = "initrd.img"
	AgentPIDFile  = "hostagent.pid"
	AgentLogFile  = "hostagent.log"
	AgentSock     = "agent.sock"
	DockerSock    = "docker.sock"
	NetSock       = "net.sock"
	LinkSock      = "link.sock" // the agent's end of a datagram (vfkit) link; the hypervisor side is NetSock
	SerialLogFile = "serial.log"
	ForwardsFile  = "forwards.json"
	BootFile      = "boot.json"
	GuestConfig   = "guest.json"
	// ResumeFile lists the containers to start again after a saved VM
	// (the agent's fastStart) runs again, or after the boot that replaced it.
	ResumeFile = "resume-containers.json"
)

// File names directly under $BERTH_HOME.
const (
	TraySettingsFile = "tray.json"
	TrayLogFile      = "tray.log"
	TraySock         = "tray.sock"
	// PreviousContextFile remembers the docker context that was current
	// before `berth context use`, for `berth context restore`.
	PreviousContextFile = "docker-context-previous"
)

// Home returns the state directory: $BERTH_HOME, else ~/.berth.
func Home() (string, error) {
	if h := os.Getenv(EnvHome); h != "" {
		return filepath.Abs(h)
	}
	u, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the home directory (set %s): %w", EnvHome, err)
	}
	return filepath.Join(u, ".berth"), nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,30}$`)

// ValidateName checks a machine name: it becomes a directory and part of
// pipe names, so it is kept short and plain.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("machine name %q: must be 1-31 characters of a-z, 0-9 and '-', starting with a letter or digit", name)
	}
	return nil
}

// Machine is one machine's directory.
type Machine struct {
	Name string
	Dir  string
	goos string
	sid  string // the user's SID, on Windows: part of every pipe name
}

// Open returns the directory of machine name under home. It does not create it.
func Open(home, name string) (Machine, error) {
	if err := ValidateName(name); err != nil {
		return Machine{}, err
	}
	sid, err := userSID()
	if err != nil {
		return Machine{}, err
	}
	m := Machine{Name: name, Dir: filepath.Join(home, name), goos: runtime.GOOS, sid: sid}
	return m, m.checkSockets()
}

// Path joins a file name of this package to the machine directory.
func (m Machine) Path(file string) string { return filepath.Join(m.Dir, file) }

// DockerSocket is where the docker CLI connects.
func (m Machine) DockerSocket() string { return socketPath(m.goos, m.Dir, m.Name, DockerSock, m.sid) }

// AgentSocket is where the CLI and the tray reach the host agent.
func (m Machine) AgentSocket() string { return socketPath(m.goos, m.Dir, m.Name, AgentSock, m.sid) }

// DockerEngineSocket is Docker's default endpoint, which the agent also
// serves when nobody else does, so that docker's default context reaches
// the machine with no setup: DockerEnginePipe on Windows, "" (none) on
// other systems, where /var/run/docker.sock belongs to the system.
func (m Machine) DockerEngineSocket() string {
	if m.goos == "windows" {
		return DockerEnginePipe
	}
	return ""
}

// DockerHost is the DOCKER_HOST value for the docker socket.
func (m Machine) DockerHost() string { return dockerHost(m.goos, m.DockerSocket()) }

// Ensure creates the machine directory, private to the user. A directory
// that exists with a wider mode (made by hand, by an older version, or
// under another umask) is closed to group and others: it holds the
// sockets, the disk and the logs.
func (m Machine) Ensure() error {
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		return fmt.Errorf("creating machine directory: %w", err)
	}
	if m.goos == "windows" {
		return nil // the user's profile is private; modes mean nothing there
	}
	fi, err := os.Stat(m.Dir)
	if err != nil {
		return fmt.Errorf("machine directory: %w", err)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(m.Dir, 0o700); err != nil {
			return fmt.Errorf("making machine directory %s private: %w", m.Dir, err)
		}
	}
	return nil
}

// socketPath maps a socket name to a unix socket in the machine directory,
// or to a named pipe on Windows, where pipes live in their own namespace.
func socketPath(goos, dir, machine, file, sid string) string {
	if goos == "windows" {
		return PipeName(machine, file[:len(file)-len(filepath.Ext(file))], sid)
	}
	return filepath.Join(dir, file)
}

// DockerEnginePipe is the docker CLI's default endpoint on Windows (its
// "default" context), served by Docker Desktop or dockerd when they run.
const DockerEnginePipe = `\\.\pipe\docker_engine`

// PipeName is the Windows pipe of machine's socket base ("docker",
// "agent"): \\.\pipe\berth-<machine>-<SID> for the docker socket, and
// \\.\pipe\berth-<machine>-<SID>-<base> for the others, sid being the
// SID of the user who runs the agent. Pipe names are one namespace for
// every user of the computer: with the SID in it, two users' agents for
// "default" never want the same name, and a pipe of that name that another
// user has created first is a squatter (the clients refuse it, see
// internal/sockets.Dial), not a busy agent.
//
// The names never collide, across machines, bases and users: a SID is S-1-
// followed by digits and dashes only, so (pipe names ignore case, and a
// machine name may hold "s-1-") the last "-s-1-" of a name starts its SID;
// what follows the SID is nothing (docker), "-<base>" (agent), or, for the
// tray, "-tray-<hex>" (TrayPipe, whose SID comes first).
func PipeName(machine, base, sid string) string {
	name := `\\.\pipe\berth-` + machine + "-" + sid
	if base != dockerBase {
		name += "-" + base
	}
	return name
}

// dockerBase is DockerSock without its extension.
const dockerBase = "docker"

// TrayPipe is the Windows pipe of the tray of the user sid whose state
// directory is home: \\.\pipe\berth-<SID>-tray-<16 hex digits of the
// directory's hash> (one tray per state directory; a directory's names
// differ only in case and trailing separators on Windows).
func TrayPipe(home, sid string) string {
	sum := sha256.Sum256([]byte(strings.TrimRight(strings.ToLower(home), `\/`)))
	return `\\.\pipe\berth-` + sid + "-tray-" + hex.EncodeToString(sum[:8])
}

// TrayEndpoint is where the tray of state directory home listens: tray.sock
// in it, or on Windows TrayPipe with the current user's SID.
func TrayEndpoint(goos, home string) (string, error) {
	if goos != "windows" {
		return filepath.Join(home, TraySock), nil
	}
	sid, err := userSID()
	if err != nil {
		return "", err
	}
	return TrayPipe(home, sid), nil
}

func dockerHost(goos, sock string) string {
	if goos == "windows" {
		return "npipe://" + strings.ReplaceAll(sock, `\`, "/")
	}
	return "unix://" + sock
}

// maxSocketPath is the longest unix socket path, NUL included: sun_path is
// 104 bytes on macOS and the BSDs, 108 on Linux.
func maxSocketPath(goos string) int {
	if goos == "linux" {
		return 108
	}
	return 104
}

// checkSockets fails early when the state directory is too deep for unix
// sockets, naming the path and the way out.
func (m Machine) checkSockets() error {
	return m.CheckSockets(AgentSock, DockerSock, NetSock, LinkSock)
}

// CheckSockets checks that unix sockets of these names (a driver's own,
// say) fit in the machine directory; a '*' in a name stands for two digits.
func (m Machine) CheckSockets(names ...string) error {
	if m.goos == "windows" {
		return nil
	}
	var errs []error
	for _, f := range names {
		f = strings.ReplaceAll(f, "*", "00")
		p := filepath.Join(m.Dir, f)
		if len(p)+1 > maxSocketPath(m.goos) {
			errs = append(errs, fmt.Errorf("socket path %s is %d bytes, over the %d-byte limit of %s: set %s to a shorter directory",
				p, len(p), maxSocketPath(m.goos)-1, m.goos, EnvHome))
		}
	}
	return errors.Join(errs...)
}
