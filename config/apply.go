package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// Check parses, resolves and validates a config file's text.
func Check(doc []byte, h Host) (Resolved, []string, error) {
	c, warnings, err := Parse(doc)
	if err != nil {
		return Resolved{}, nil, err
	}
	r, err := Resolve(c, h)
	return r, warnings, errors.Join(err, Validate(r, h))
}

// LoadResolved reads, resolves and validates the file at path.
func LoadResolved(path string, h Host) (Resolved, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Resolved{}, nil, err
	}
	r, w, err := Check(b, h)
	if err != nil {
		return r, w, fmt.Errorf("%s: %w", path, err)
	}
	return r, w, nil
}

// Save validates doc and only then replaces the file, atomically: a bad
// config is never written, a crash leaves the old file or the new one.
func Save(path string, doc []byte, h Host) ([]string, error) {
	_, warnings, err := Check(doc, h)
	if err != nil {
		return warnings, err
	}
	return warnings, atomicfile.WriteFile(path, doc, 0o600)
}

// Digest identifies a resolved config, so a running machine can tell
// whether the file changed since it started.
func (r Resolved) Digest() string {
	b, _ := json.Marshal(r)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
