//go:build !windows

package hyperv

import "errors"

var errWindowsOnly = errors.New("the hyperv driver runs on Windows only (Hyper-V is a Windows feature)")

func available() error { return errWindowsOnly }

func currentUserSID() (string, error) { return "", errWindowsOnly }
