//go:build !linux

package build

import (
	"errors"
	"log/slog"
	"time"
)

// The image is built with Debian's tools (apt, dpkg-deb, mkfs.ext4): on
// Linux only. Elsewhere the package compiles, for its pure parts and vet.
var errNotLinux = errors.New("the guest image can only be built on Linux")

func lockBuild(cacheDir, arch string, log *slog.Logger) (func(), error) { return nil, errNotLinux }

func clampTimes(root string, t time.Time) error { return errNotLinux }
