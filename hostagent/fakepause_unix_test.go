//go:build !windows

package hostagent

import (
	"os"
	"syscall"
)

// stopProcess and contProcess stop and continue the fake VM's process: a
// paused fake guest answers nothing, as a paused VM does not.
func stopProcess(p *os.Process) error { return p.Signal(syscall.SIGSTOP) }
func contProcess(p *os.Process) error { return p.Signal(syscall.SIGCONT) }
