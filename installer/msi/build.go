package msi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build writes the WiX source into work and compiles it with wixl into
// out (through a temporary file, renamed when complete).
func Build(ctx context.Context, o Options, work, out string) error {
	work, err := relativeTo(work, &o.Berth, &o.Tray, &o.Icon, &o.License, &o.ImageDir)
	if err != nil {
		return err
	}
	src, err := WXS(o)
	if err != nil {
		return err
	}
	return compile(ctx, work, "berth.wxs", src, out, func(msi string) error { return addEnvironment(ctx, work, msi) })
}

// relativeTo makes work absolute and each non-empty path relative to it:
// wixl takes the sources relative to the WiX file's folder.
func relativeTo(work string, paths ...*string) (string, error) {
	work, err := filepath.Abs(work)
	if err != nil {
		return "", err
	}
	for _, p := range paths {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return "", err
		}
		if *p, err = filepath.Rel(work, abs); err != nil {
			return "", err
		}
	}
	return work, nil
}

// compile writes the WiX source src as name in work, compiles it with
// wixl into a temporary file, lets finish (if any) amend that, and renames
// it to out: a failure leaves no package at out.
func compile(ctx context.Context, work, name string, src []byte, out string, finish func(msi string) error) error {
	wxs := filepath.Join(work, name)
	if err := os.WriteFile(wxs, src, 0o644); err != nil {
		return err
	}
	tmp := out + ".tmp"
	defer os.Remove(tmp) //nolint:errcheck
	if err := run(ctx, "wixl", "-a", "x64", "-o", tmp, wxs); err != nil {
		return err
	}
	if finish != nil {
		if err := finish(tmp); err != nil {
			return err
		}
	}
	return os.Rename(tmp, out)
}

// Signer holds the code-signing certificate and key (PEM files).
type Signer struct {
	Cert, Key string
}

// SignerFromEnv reads BERTH_SIGN_CERT and BERTH_SIGN_KEY; ok is false
// when neither is set (an unsigned build), and it is an error to set one
// without the other.
func SignerFromEnv(getenv func(string) string) (s Signer, ok bool, err error) {
	s = Signer{Cert: getenv("BERTH_SIGN_CERT"), Key: getenv("BERTH_SIGN_KEY")}
	switch {
	case s.Cert == "" && s.Key == "":
		return s, false, nil
	case s.Cert == "" || s.Key == "":
		return s, false, errors.New("set both BERTH_SIGN_CERT (certificate, PEM) and BERTH_SIGN_KEY (its private key, PEM), or neither for an unsigned build")
	}
	return s, true, nil
}

// SignArgs are osslsigncode's arguments to sign in into out.
func (s Signer) SignArgs(in, out string) []string {
	return []string{"sign", "-certs", s.Cert, "-key", s.Key, "-h", "sha256",
		"-n", "Berth", "-i", "https://github.com/berth-dev/berth", "-in", in, "-out", out}
}

// Sign signs the file (an .exe or the .msi) in place.
func (s Signer) Sign(ctx context.Context, file string) error {
	tmp := file + ".signed"
	defer os.Remove(tmp) //nolint:errcheck
	if err := run(ctx, "osslsigncode", s.SignArgs(file, tmp)...); err != nil {
		return fmt.Errorf("signing %s: %w", filepath.Base(file), err)
	}
	return os.Rename(tmp, file)
}

func run(ctx context.Context, name string, args ...string) error {
	if _, err := exec.LookPath(name); err != nil {
		return fmt.Errorf("%s is not installed (hack/deps-dist.txt; make deps-dist installs it): %w", name, err)
	}
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// addEnvironment adds the PATH entry, which wixl cannot write: the
// Environment table (as WiX writes <Environment Name="PATH"
// Value="[BINDIR]" Part="last" Action="set" System="no"
// Permanent="no"/>) and the two standard actions that apply it,
// imported with msibuild.
func addEnvironment(ctx context.Context, work, msi string) error {
	for name, table := range EnvironmentTables() {
		if err := os.WriteFile(filepath.Join(work, name), []byte(table), 0o644); err != nil {
			return err
		}
	}
	if err := run(ctx, "msibuild", msi, "-i", filepath.Join(work, "Environment.idt")); err != nil {
		return err
	}
	for _, q := range SequenceQueries() {
		if err := run(ctx, "msibuild", msi, "-q", q); err != nil {
			return err
		}
	}
	return nil
}
