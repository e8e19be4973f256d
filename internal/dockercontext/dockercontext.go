// Package dockercontext writes the docker CLI's context for a Berth machine,
// so `docker --context berth` (or `docker context use berth`) reaches the
// machine's socket. It writes the CLI's documented on-disk format directly
// instead of shelling out, so it works without the docker CLI installed.
package dockercontext

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// Dir is the docker CLI's configuration directory: $DOCKER_CONFIG or ~/.docker.
func Dir() (string, error) {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(h, ".docker"), nil
}

type meta struct {
	Name      string              `json:"Name"`
	Metadata  map[string]string   `json:"Metadata"`
	Endpoints map[string]endpoint `json:"Endpoints"`
}

type endpoint struct {
	Host          string `json:"Host"`
	SkipTLSVerify bool   `json:"SkipTLSVerify"`
}

func metaPath(dir, name string) string {
	sum := sha256.Sum256([]byte(name))
	return filepath.Join(dir, "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json")
}

// Ensure creates or updates context name to point at host.
func Ensure(dir, name, host, description string) error {
	p := metaPath(dir, name)
	// Owner-only, like the docker CLI's config.json: the context names the
	// machine's socket. Its own directory is closed even if it existed
	// with a wider mode; the CLI's shared directories above it are left
	// as the CLI made them.
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("creating docker context %q: %w", name, err)
	}
	if err := os.Chmod(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("docker context %q: %w", name, err)
	}
	b, err := json.Marshal(meta{
		Name:      name,
		Metadata:  map[string]string{"Description": description},
		Endpoints: map[string]endpoint{"docker": {Host: host}},
	})
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(p, b, 0o600); err != nil {
		return fmt.Errorf("writing docker context %q: %w", name, err)
	}
	return nil
}

// Host returns the docker endpoint of context name.
func Host(dir, name string) (string, error) {
	b, err := os.ReadFile(metaPath(dir, name))
	if err != nil {
		return "", err
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return "", fmt.Errorf("docker context %q: %w", name, err)
	}
	ep, ok := m.Endpoints["docker"]
	if !ok {
		return "", errors.New("docker context has no docker endpoint")
	}
	return ep.Host, nil
}

// Current returns the docker CLI's current context ("" means default).
func Current(dir string) (string, error) {
	m, err := readConfigJSON(dir)
	if err != nil {
		return "", err
	}
	var cur string
	if raw, ok := m["currentContext"]; ok {
		if err := json.Unmarshal(raw, &cur); err != nil {
			return "", fmt.Errorf("config.json currentContext: %w", err)
		}
	}
	return cur, nil
}

// Use makes name the docker CLI's current context, keeping every other
// setting of config.json. An empty name means the default context.
func Use(dir, name string) error {
	m, err := readConfigJSON(dir)
	if err != nil {
		return err
	}
	if name == "" || name == "default" {
		delete(m, "currentContext")
	} else {
		b, _ := json.Marshal(name)
		m["currentContext"] = b
	}
	b, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	p := filepath.Join(dir, "config.json")
	return atomicfile.WriteFile(p, append(b, '\n'), 0o600)
}

// Remove deletes context name.
func Remove(dir, name string) error {
	err := os.RemoveAll(filepath.Dir(metaPath(dir, name)))
	if err != nil {
		return fmt.Errorf("removing docker context %q: %w", name, err)
	}
	return nil
}

func readConfigJSON(dir string) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
	}
	return m, nil
}
