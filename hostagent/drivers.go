package hostagent

// Every driver is linked into every binary that links the agent (the CLI,
// the tray): whichever of them stops a machine must find its VM through
// the driver, or it would take a live VM's files for stale ones.
import (
	_ "github.com/berth-dev/berth/vm/qemu"    // the portable driver, on every OS
	_ "github.com/berth-dev/berth/vm/vz"      // Virtualization.framework: registered everywhere, runs on macOS 13+ with cgo
	_ "github.com/berth-dev/berth/vm/wsl2"    // WSL 2: registered everywhere, runs on Windows
	_ "github.com/berth-dev/berth/winservice" // registers vm/hyperv (Hyper-V) everywhere with its client; it runs on Windows through berth-service
)
