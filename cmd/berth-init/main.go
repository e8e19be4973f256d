//go:build linux

// Command berth-init is PID 1 of the Berth VM: /init in its initramfs. See
// package initd.
package main

import "github.com/berth-dev/berth/guest/initd"

func main() { initd.Main() }
