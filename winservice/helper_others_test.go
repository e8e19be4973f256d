//go:build !windows

package winservice

import "os"

func runHelper(string) { os.Exit(2) }
