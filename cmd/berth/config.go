package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/hostagent"
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/hostagent/lifecycle"
	"github.com/berth-dev/berth/store"
)

func configPath() (string, error) {
	home, err := store.Home()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, config.FileName), nil
}

// ensureConfig writes the commented default config on first use.
func ensureConfig() (string, error) {
	p, err := configPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	return p, config.WriteDefault(p)
}

func readConfig() (string, []byte, error) {
	p, err := ensureConfig()
	if err != nil {
		return "", nil, err
	}
	b, err := os.ReadFile(p)
	return p, b, err
}

func printWarnings(w io.Writer, path string, warnings []string) {
	for _, s := range warnings {
		fmt.Fprintf(w, "warning: %s: %s\n", path, s)
	}
}

func newConfig(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Show, change and check the configuration (" + config.FileName + ")"}
	cmd.AddCommand(
		&cobra.Command{
			Use: "path", Short: "Print the config file's path", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				p, err := ensureConfig()
				if err == nil {
					fmt.Fprintln(cmd.OutOrStdout(), p)
				}
				return err
			},
		},
		&cobra.Command{
			Use: "get KEY", Short: "Print a key's value (e.g. cpus, engine.proxy.http); empty when unset", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				_, b, err := readConfig()
				if err != nil {
					return err
				}
				v, err := config.Get(b, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), v)
				return nil
			},
		},
		&cobra.Command{
			Use: "set KEY VALUE", Short: "Set a key (VALUE is YAML: 4, 2GiB, [a, b], {k: v}); refused unless the result is valid", Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				p, b, err := readConfig()
				if err != nil {
					return err
				}
				out, err := config.Set(b, args[0], args[1])
				if err != nil {
					return err
				}
				return saveConfig(cmd, g, p, out)
			},
		},
		&cobra.Command{
			Use: "validate", Short: "Check the config file; every problem is listed", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				p, b, err := readConfig()
				if err != nil {
					return err
				}
				_, warnings, err := config.Check(b, hostagent.HostLimits())
				printWarnings(cmd.ErrOrStderr(), p, warnings)
				if err != nil {
					return fmt.Errorf("%s:\n%w", p, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s is valid.\n", p)
				return nil
			},
		},
		&cobra.Command{
			Use: "edit", Short: "Edit the config in $EDITOR; the file changes only if the result is valid", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return editConfig(cmd, g) },
		},
	)
	return cmd
}

func saveConfig(cmd *cobra.Command, g *globals, path string, doc []byte) error {
	warnings, err := config.Save(path, doc, hostagent.HostLimits())
	printWarnings(cmd.ErrOrStderr(), path, warnings)
	if err != nil {
		return fmt.Errorf("not saved:\n%w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Saved %s.\n", path)
	noteRestart(cmd, g, doc)
	return nil
}

// noteRestart tells when the running machine started with another config.
func noteRestart(cmd *cobra.Command, g *globals, doc []byte) {
	m, err := openMachine(g)
	if err != nil {
		return
	}
	st, err := lifecycle.Status(cmd.Context(), m)
	if err != nil || st.State == api.StateStopped {
		return
	}
	r, _, err := config.Check(doc, hostagent.HostLimits())
	if err == nil && r.Digest() != st.ConfigDigest {
		fmt.Fprintf(cmd.OutOrStdout(), "Machine %q is running with the previous settings: `berth restart` applies the change.\n", m.Name)
	}
}

func editConfig(cmd *cobra.Command, g *globals) error {
	p, b, err := readConfig()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), "config-edit-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	tmp.Close()
	for {
		if err := runEditor(tmp.Name()); err != nil {
			return err
		}
		doc, err := os.ReadFile(tmp.Name())
		if err != nil {
			return err
		}
		_, _, cerr := config.Check(doc, hostagent.HostLimits())
		if cerr == nil {
			return saveConfig(cmd, g, p, doc)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "The edited config is not valid:\n%v\n", cerr)
		if !isTerminal(os.Stdin) {
			return errors.New("not saved")
		}
		fmt.Fprint(cmd.ErrOrStderr(), "Edit again? [Y/n] ")
		var answer string
		_, _ = fmt.Fscanln(cmd.InOrStdin(), &answer)
		if answer == "n" || answer == "N" {
			return errors.New("not saved")
		}
	}
}

func runEditor(path string) error {
	editor := os.Getenv("VISUAL")
	if editor == "" {
		editor = os.Getenv("EDITOR")
	}
	if editor == "" {
		editor = defaultEditor(runtime.GOOS)
	}
	c := exec.Command(editor, path)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("running the editor %q (set EDITOR): %w", editor, err)
	}
	return nil
}

func defaultEditor(goos string) string {
	switch goos {
	case "windows":
		return "notepad"
	case "darwin":
		return "nano"
	}
	return "vi"
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
