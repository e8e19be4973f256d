//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "berth-init runs only as PID 1 of the Berth Linux VM")
	os.Exit(2)
}
