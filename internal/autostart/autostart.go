// Package autostart registers a program to start when the user logs in.
//
// On Windows that is a value under the per-user Run key
// (HKCU\Software\Microsoft\Windows\CurrentVersion\Run), which needs no
// elevation and which the installer's uninstall removes too. Other systems
// return an error wrapping errors.ErrUnsupported for now (launchd agents on
// macOS and XDG autostart files on Linux would go here).
package autostart

import "fmt"

// Set makes command (a complete command line, quoted as Windows expects)
// start at login under name, replacing any earlier value.
func Set(name, command string) error {
	if err := set(name, command); err != nil {
		return fmt.Errorf("setting autostart entry %q: %w", name, err)
	}
	return nil
}

// Get returns the command line registered under name; ok is false if
// there is none.
func Get(name string) (command string, ok bool, err error) {
	command, ok, err = get(name)
	if err != nil {
		return "", false, fmt.Errorf("reading autostart entry %q: %w", name, err)
	}
	return command, ok, nil
}

// Delete removes the entry; a missing one is not an error.
func Delete(name string) error {
	if err := del(name); err != nil {
		return fmt.Errorf("deleting autostart entry %q: %w", name, err)
	}
	return nil
}
