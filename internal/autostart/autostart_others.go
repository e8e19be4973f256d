//go:build !windows && !darwin && !linux

package autostart

import (
	"errors"
	"fmt"
	"runtime"
)

var errUnsupported = fmt.Errorf("%w on %s: autostart is implemented for Windows (the HKCU Run key) and macOS (a launchd agent)", errors.ErrUnsupported, runtime.GOOS)

func set(string, string) error         { return errUnsupported }
func get(string) (string, bool, error) { return "", false, errUnsupported }
func del(string) error                 { return errUnsupported }
