package build

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// apt runs apt-get against a private configuration under dir: its own
// sources list, package lists and an empty dpkg status, so the host's apt
// state is never read or changed.
type apt struct {
	dir    string
	arch   string
	mirror Mirror
	log    *slog.Logger
}

func (a *apt) sourcesList() string {
	return fmt.Sprintf("deb [signed-by=%s target=Packages] %s %s main\n", a.mirror.Keyring, a.mirror.URI, Suite)
}

func (a *apt) prepare() error {
	for _, d := range []string{"lists/partial", "archives/partial"} {
		if err := os.MkdirAll(filepath.Join(a.dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(a.dir, "sources.list"), []byte(a.sourcesList()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(a.dir, "status"), nil, 0o644)
}

func (a *apt) options() []string {
	o := []string{
		"-oDir::Etc::SourceList=" + filepath.Join(a.dir, "sources.list"),
		"-oDir::Etc::SourceParts=/dev/null",
		"-oDir::Etc::Preferences=/dev/null",
		"-oDir::Etc::PreferencesParts=/dev/null",
		"-oDir::State::Lists=" + filepath.Join(a.dir, "lists"),
		"-oDir::State::status=" + filepath.Join(a.dir, "status"),
		"-oDir::Cache=" + a.dir,
		"-oDir::Cache::archives=" + filepath.Join(a.dir, "archives"),
		"-oAPT::Architecture=" + a.arch,
		"-oAPT::Architectures=" + a.arch,
		"-oAPT::Install-Recommends=0",
		"-oAPT::Install-Suggests=0",
		"-oAcquire::Languages=none",
	}
	if os.Geteuid() == 0 {
		// apt would drop to _apt, who cannot write into our cache.
		o = append(o, "-oAPT::Sandbox::User=root")
	}
	return o
}

func (a *apt) run(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "apt-get", append(a.options(), args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	a.log.Debug("apt-get", "args", args)
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("apt-get %s: %w: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// update fetches the suite's package index (InRelease is verified with the
// mirror's keyring).
func (a *apt) update(ctx context.Context) error {
	if err := a.prepare(); err != nil {
		return fmt.Errorf("preparing apt state: %w", err)
	}
	a.log.Info("fetching package index", "mirror", a.mirror.URI, "suite", Suite, "arch", a.arch)
	_, err := a.run(ctx, a.dir, "update")
	return err
}

// resolve returns the packages that installing names on an empty system
// would install (dependencies, no Recommends).
func (a *apt) resolve(ctx context.Context, names []string) ([]Pin, error) {
	out, err := a.run(ctx, a.dir, append([]string{"install", "--simulate", "--quiet"}, names...)...)
	if err != nil {
		return nil, err
	}
	return ParseSimulatedInstall(out)
}

// download fetches the exact versions into dir (apt checks each file's hash
// against the signed index).
func (a *apt) download(ctx context.Context, dir string, pins []Pin) error {
	args := []string{"download", "--quiet"}
	for _, p := range pins {
		args = append(args, p.String())
	}
	_, err := a.run(ctx, dir, args...)
	if err != nil && (strings.Contains(err.Error(), "was not found") || strings.Contains(err.Error(), "Unable to locate")) {
		return fmt.Errorf("a pinned package version is no longer on the mirror; run `make image-lock` to re-resolve, then rebuild: %w", err)
	}
	return err
}
