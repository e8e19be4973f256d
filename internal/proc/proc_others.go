//go:build !windows && !linux && !darwin

package proc

import "errors"

func zombie(int) bool { return false }

func identity(int) (string, error) { return "", errors.ErrUnsupported }
