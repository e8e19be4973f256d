package build

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
)

// LockOptions configure WriteLock.
type LockOptions struct {
	Arch         string
	PackagesFile string // kernel/packages.txt
	LockFile     string // written: kernel/packages-<arch>.lock
	CacheDir     string // apt state lives here
	Mirror       string // overrides the mirror of the host's apt sources
	AptEtc       string // the host's apt configuration directory (/etc/apt)
	Log          *slog.Logger
}

// WriteLock resolves the package list against the mirror's current index and
// writes the pinned versions to o.LockFile.
func WriteLock(ctx context.Context, o LockOptions) (Lock, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	text, err := os.ReadFile(o.PackagesFile)
	if err != nil {
		return Lock{}, err
	}
	wanted, err := ParsePackageList(string(text), o.Arch)
	if err != nil {
		return Lock{}, fmt.Errorf("%s: %w", o.PackagesFile, err)
	}
	unlock, err := lockBuild(o.CacheDir, o.Arch, log)
	if err != nil {
		return Lock{}, err
	}
	defer unlock()
	a, err := newApt(o.Arch, o.CacheDir, o.Mirror, o.AptEtc, log)
	if err != nil {
		return Lock{}, err
	}
	if err := a.update(ctx); err != nil {
		return Lock{}, err
	}
	pins, err := resolveAll(ctx, a.resolve, wanted)
	if err != nil {
		return Lock{}, err
	}
	l := Lock{Arch: o.Arch, Suite: Suite, Wanted: WantedDigest(wanted), Packages: pins}
	if err := os.WriteFile(o.LockFile, FormatLock(l), 0o644); err != nil {
		return Lock{}, err
	}
	log.Info("pinned packages", "count", len(pins), "file", o.LockFile)
	return l, nil
}

// resolveFunc returns what installing names on an empty system installs.
type resolveFunc func(ctx context.Context, names []string) ([]Pin, error)

// resolveAll resolves the plain packages together and each "only=" package
// on its own, and merges the results, sorted by name.
func resolveAll(ctx context.Context, resolve resolveFunc, wanted []Wanted) ([]Pin, error) {
	var plain []string
	byName := map[string]string{}
	add := func(pins []Pin, only string) error {
		for _, p := range pins {
			if only != "" && !matchOnly(only, p.Name) {
				continue
			}
			if v, ok := byName[p.Name]; ok && v != p.Version {
				return fmt.Errorf("%s resolved to both %s and %s", p.Name, v, p.Version)
			}
			byName[p.Name] = p.Version
		}
		return nil
	}
	for _, w := range wanted {
		if w.Only == "" {
			plain = append(plain, w.Name)
			continue
		}
		pins, err := resolve(ctx, []string{w.Name})
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", w.Name, err)
		}
		if err := add(pins, w.Only); err != nil {
			return nil, err
		}
	}
	if len(plain) > 0 {
		pins, err := resolve(ctx, plain)
		if err != nil {
			return nil, fmt.Errorf("resolving packages: %w", err)
		}
		if err := add(pins, ""); err != nil {
			return nil, err
		}
	}
	out := make([]Pin, 0, len(byName))
	for n, v := range byName {
		out = append(out, Pin{Name: n, Version: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
