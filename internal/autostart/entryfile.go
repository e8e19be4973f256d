package autostart

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// entryFormat is a login item kept as one file per name in a directory
// (an XDG autostart entry, a launchd agent): where the file goes, how a
// command is written into it and read back out.
type entryFormat struct {
	file   func(dir, name string) (string, error)
	render func(name, command string) ([]byte, error)
	parse  func(data []byte) (string, error)
}

// set writes the entry atomically, replacing any earlier one.
func (f entryFormat) set(dir, name, command string) error {
	path, err := f.file(dir, name)
	if err != nil {
		return err
	}
	data, err := f.render(name, command)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, 0o644)
}

// get reads the entry's command; ok is false when there is none.
func (f entryFormat) get(dir, name string) (command string, ok bool, err error) {
	path, err := f.file(dir, name)
	if err != nil {
		return "", false, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	command, err = f.parse(data)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", path, err)
	}
	return command, true, nil
}

// del removes the entry; a missing one is not an error.
func (f entryFormat) del(dir, name string) error {
	path, err := f.file(dir, name)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
