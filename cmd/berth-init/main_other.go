//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "berth-init runs only in the Berth Linux VM (as PID 1) or in its WSL2 distro (--wsl)")
	os.Exit(2)
}
