package install

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/autostart"
)

// Apply carries the steps out, each reported to say; it stops at the
// first that fails.
func Apply(steps []Step, say func(string)) error {
	for _, s := range steps {
		if err := apply(s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		say(s.String())
	}
	return nil
}

func apply(s Step) error {
	switch s.Kind {
	case Autostart:
		return autostart.Set(s.Name, s.Command)
	case Link:
		if cur, err := os.Readlink(s.Path); err == nil && cur == s.Target {
			return nil
		}
		if _, err := os.Lstat(s.Path); err == nil {
			return fmt.Errorf("%s exists and is not a link to %s: remove it, or run with --no-path", s.Path, s.Target)
		}
		if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
			return err
		}
		return os.Symlink(s.Target, s.Path)
	case PathEntry:
		return addUserPath(s.Path)
	}
	return fmt.Errorf("unknown step %q", s.Kind)
}

// Undo removes what the steps added: the autostart entry, a link that
// still points at the target, the PATH entry. What is already gone is
// not an error; every step is tried, and the errors are joined.
func Undo(steps []Step, say func(string)) error {
	var errs []error
	for _, s := range steps {
		done, err := undo(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("undoing %s: %w", s, err))
		} else if done {
			say("removed: " + s.String())
		}
	}
	return errors.Join(errs...)
}

func undo(s Step) (bool, error) {
	switch s.Kind {
	case Autostart:
		_, ok, err := autostart.Get(s.Name)
		if err != nil || !ok {
			return false, err
		}
		return true, autostart.Delete(s.Name)
	case Link:
		// Only a link to the target is ours: a missing one, another link or
		// a file of the user's own (Readlink fails on it) stays as it is.
		if cur, err := os.Readlink(s.Path); err != nil || cur != s.Target {
			return false, nil //nolint:nilerr // not ours to remove
		}
		return true, os.Remove(s.Path)
	case PathEntry:
		return removeUserPath(s.Path)
	}
	return false, fmt.Errorf("unknown step %q", s.Kind)
}
