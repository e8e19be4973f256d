//go:build !windows

// Command berth-service is Berth's elevated Windows service; it exists on
// Windows only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "berth-service is a Windows service; there is nothing to run on this system")
	os.Exit(2)
}
