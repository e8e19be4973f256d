package wsl2

import (
	"context"
	"fmt"
)

// Report gives a diagnostics bundle what wsl.exe says of itself: its
// versions (WSL, kernel, Windows) and its status (default version, what
// is missing). Neither carries credentials.
func (d *Driver) Report(ctx context.Context) map[string]string {
	text := func(s string, err error) string {
		if err != nil {
			return fmt.Sprintf("%s\n(error: %v)\n", s, err)
		}
		return s
	}
	v, verr := d.wsl.Version(ctx)
	st, serr := d.wsl.Status(ctx)
	return map[string]string{
		"wsl-version.txt": text(v.Text, verr),
		"wsl-status.txt":  text(st, serr),
	}
}
