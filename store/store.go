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
// On Windows the two user-facing sockets are named pipes instead.
package store

import (
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
	SerialLogFile = "serial.log"
	ForwardsFile  = "forwards.json"
	BootFile      = "boot.json"
	GuestConfig   = "guest.json"
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
}

// Open returns the directory of machine name under home. It does not create it.
func Open(home, name string) (Machine, error) {
	if err := ValidateName(name); err != nil {
		return Machine{}, err
	}
	m := Machine{Name: name, Dir: filepath.Join(home, name), goos: runtime.GOOS}
	return m, m.checkSockets()
}

// Path joins a file name of this package to the machine directory.
func (m Machine) Path(file string) string { return filepath.Join(m.Dir, file) }

// DockerSocket is where the docker CLI connects.
func (m Machine) DockerSocket() string { return socketPath(m.goos, m.Dir, m.Name, DockerSock) }

// AgentSocket is where the CLI and the tray reach the host agent.
func (m Machine) AgentSocket() string { return socketPath(m.goos, m.Dir, m.Name, AgentSock) }

// DockerHost is the DOCKER_HOST value for the docker socket.
func (m Machine) DockerHost() string { return dockerHost(m.goos, m.DockerSocket()) }

// Ensure creates the machine directory, private to the user.
func (m Machine) Ensure() error {
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		return fmt.Errorf("creating machine directory: %w", err)
	}
	return nil
}

// socketPath maps a socket name to a unix socket in the machine directory,
// or to a named pipe on Windows, where pipes live in their own namespace.
func socketPath(goos, dir, machine, file string) string {
	if goos == "windows" {
		base := file[:len(file)-len(filepath.Ext(file))]
		return `\\.\pipe\berth-` + machine + "-" + base
	}
	return filepath.Join(dir, file)
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
func (m Machine) checkSockets() error { return m.CheckSockets(AgentSock, DockerSock, NetSock) }

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
