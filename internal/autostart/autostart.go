// Package autostart registers a program to start when the user logs in.
//
// On Windows that is a value under the per-user Run key
// (HKCU\Software\Microsoft\Windows\CurrentVersion\Run), which needs no
// elevation and which the installer's uninstall removes too. On macOS it
// is a launchd agent, ~/Library/LaunchAgents/<name>.plist with RunAtLoad,
// written atomically: launchd loads it at the next login (Set does not
// start it now). On Linux it is an XDG autostart entry,
// $XDG_CONFIG_HOME/autostart/<name>.desktop. Other systems return an
// error wrapping errors.ErrUnsupported.
package autostart

import "fmt"

// Set makes command start at login under name, replacing any earlier
// value. command is a complete command line, quoted as Windows expects
// there, and as a POSIX shell would read it on macOS and Linux (where it
// is split into the agent's ProgramArguments or the entry's Exec key;
// nothing is expanded); on macOS name must be a launchd label such as
// dev.berth.tray, on Linux a file name.
func Set(name, command string) error {
	if err := set(name, command); err != nil {
		return fmt.Errorf("setting autostart entry %q: %w", name, err)
	}
	return nil
}

// Get returns the command line registered under name (on macOS and
// Linux the arguments, quoted again); ok is false if there is none.
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
