package initd

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

type mountSpec struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
	optional               bool
}

// mountAll mounts each spec, creating its mount point; one already mounted
// (EBUSY) is fine.
func mountAll(specs []mountSpec) error {
	var errs []error
	for _, m := range specs {
		if err := os.MkdirAll(m.target, 0o755); err != nil && !m.optional {
			errs = append(errs, err)
			continue
		}
		err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data)
		if err != nil && err != unix.EBUSY && !m.optional {
			errs = append(errs, fmt.Errorf("mounting %s on %s: %w", m.fstype, m.target, err))
		}
	}
	return errors.Join(errs...)
}
