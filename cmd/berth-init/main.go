//go:build linux

// Command berth-init is PID 1 of the Berth VM (/init in its initramfs), or,
// with --wsl, the engine's init in Berth's WSL2 distro. See
// package initd.
package main

import (
	"os"

	"github.com/berth-dev/berth/guest/initd"
)

func main() { initd.Main(os.Args[1:]) }
