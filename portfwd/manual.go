package portfwd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// manualFile is the on-disk form of the manual forwards: canonical specs,
// so the file reads like the commands that made it.
type manualFile struct {
	Forwards []string `json:"forwards"`
}

// LoadManual reads the manual forwards saved at path; a missing file is an
// empty list.
func LoadManual(path string) ([]Spec, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var mf manualFile
	if err := json.Unmarshal(b, &mf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []Spec
	var errs []error
	for _, s := range mf.Forwards {
		sp, err := ParseSpec(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			continue
		}
		out = append(out, sp)
	}
	return out, errors.Join(errs...)
}

// SaveManual writes the manual forwards to path atomically: a crash leaves
// the old file or the new one, never half of one.
func SaveManual(path string, specs []Spec) error {
	mf := manualFile{Forwards: []string{}}
	for _, s := range specs {
		mf.Forwards = append(mf.Forwards, s.String())
	}
	slices.Sort(mf.Forwards)
	b, err := json.MarshalIndent(mf, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving forwards: %w", err)
	}
	return nil
}
