package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/dockercontext"
	"github.com/berth-dev/berth/store"
)

// previousContextFile remembers the docker context that `berth context use`
// replaced, so it can be put back.
const previousContextFile = store.PreviousContextFile

func newContext(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "context", Short: "Point the docker CLI at Berth, or back"}
	cmd.AddCommand(&cobra.Command{
		Use:   "use",
		Short: "Make `berth` the docker CLI's current context (remembering the one it replaces)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := openMachine(g)
			if err != nil {
				return err
			}
			dir, err := dockercontext.Dir()
			if err != nil {
				return err
			}
			if err := dockercontext.Ensure(dir, contextName, m.DockerHost(), "Berth"); err != nil {
				return err
			}
			cur, err := dockercontext.Current(dir)
			if err != nil {
				return err
			}
			if cur != contextName {
				if err := savePrevious(cur); err != nil {
					return err
				}
			}
			if err := dockercontext.Use(dir, contextName); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "docker now uses the context %q (was %q); `berth context restore` switches back.\n", contextName, orDefault(cur))
			return nil
		},
	}, &cobra.Command{
		Use:   "restore",
		Short: "Switch the docker CLI back to the context `berth context use` replaced",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			prev, err := restoreContext()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "docker now uses the context %q.\n", orDefault(prev))
			return nil
		},
	})
	return cmd
}

func orDefault(s string) string {
	if s == "" {
		return "default"
	}
	return s
}

func previousPath() (string, error) {
	home, err := store.Home()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, previousContextFile), nil
}

func savePrevious(name string) error {
	p, err := previousPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(name+"\n"), 0o600)
}

// restoreContext puts back the remembered context if docker still uses
// Berth's; it returns the context docker uses afterwards.
func restoreContext() (string, error) {
	dir, err := dockercontext.Dir()
	if err != nil {
		return "", err
	}
	cur, err := dockercontext.Current(dir)
	if err != nil {
		return "", err
	}
	p, err := previousPath()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		b = nil
	} else if err != nil {
		return "", err
	}
	prev := strings.TrimSpace(string(b))
	if cur != contextName {
		return cur, nil // the user switched away already; leave it
	}
	if err := dockercontext.Use(dir, prev); err != nil {
		return "", err
	}
	_ = os.Remove(p)
	return prev, nil
}
