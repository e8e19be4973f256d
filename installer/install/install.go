// Package install does for a berth unpacked from a tarball or built from
// source what the installers do: the tray's autostart at login
// (layout.AutostartName, the same entry the MSI and the .deb make), berth
// on the user's PATH, and undoes them. The docker context is not made
// here: the first `berth start` makes it, and `berth delete` removes it
// with the machine.
//
// Plan is a pure function of the OS and the user's environment, tested on
// Linux for every OS; Apply carries a plan out.
package install

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/berth-dev/berth/installer/layout"
)

// Kind is what a step does.
type Kind string

const (
	// Autostart registers Command to run at login under Name.
	Autostart Kind = "autostart"
	// Link makes Path a symlink to Target (a folder on PATH).
	Link Kind = "link"
	// PathEntry appends Path to the user's PATH (Windows: HKCU\Environment).
	PathEntry Kind = "path"
)

// Step is one thing install adds (and uninstall removes).
type Step struct {
	Kind    Kind
	Name    string // Autostart: the entry's name
	Command string // Autostart: the command line
	Path    string // Link: the link; PathEntry: the folder
	Target  string // Link: what it points to
}

func (s Step) String() string {
	switch s.Kind {
	case Autostart:
		return fmt.Sprintf("start the tray at login (%s: %s)", s.Name, s.Command)
	case Link:
		return fmt.Sprintf("link %s -> %s", s.Path, s.Target)
	default:
		return fmt.Sprintf("add %s to your PATH", s.Path)
	}
}

// Env is what a plan depends on.
type Env struct {
	GOOS     string
	Home     string
	ExeDir   string            // the folder of the running berth
	HasTray  bool              // berth-tray is next to berth
	PathDirs []string          // $PATH, split
	Writable func(string) bool // whether a folder can be written (macOS: /usr/local/bin)
}

// Options choose the steps.
type Options struct {
	NoAutostart bool
	NoPath      bool
}

// Plan lists the steps for env. A berth already on PATH (the .deb's
// /usr/bin, the MSI's folder) gets no link and no PATH entry.
func Plan(env Env, o Options) ([]Step, error) {
	if env.ExeDir == "" || env.Home == "" {
		return nil, fmt.Errorf("install: the berth binary's folder and the home folder must be known")
	}
	var steps []Step
	if !o.NoAutostart && env.HasTray {
		tray := join(env.GOOS, env.ExeDir, layout.Exe(env.GOOS, "berth-tray"))
		steps = append(steps, Step{Kind: Autostart, Name: layout.AutostartName(env.GOOS), Command: quote(env.GOOS, tray)})
	}
	if o.NoPath || onPath(env) {
		return steps, nil
	}
	berth := join(env.GOOS, env.ExeDir, layout.Exe(env.GOOS, "berth"))
	switch env.GOOS {
	case "windows":
		steps = append(steps, Step{Kind: PathEntry, Path: env.ExeDir})
	case "darwin":
		dir := "/usr/local/bin"
		if env.Writable == nil || !env.Writable(dir) {
			dir = join(env.GOOS, env.Home, ".local", "bin")
		}
		steps = append(steps, Step{Kind: Link, Path: join(env.GOOS, dir, "berth"), Target: berth})
	default:
		steps = append(steps, Step{Kind: Link, Path: join(env.GOOS, env.Home, ".local", "bin", "berth"), Target: berth})
	}
	return steps, nil
}

// UninstallPlan lists every step an install on env may have made, for
// Undo: the autostart entry, the link wherever Plan may have put it, the
// PATH entry on Windows (whether or not they exist now).
func UninstallPlan(env Env) ([]Step, error) {
	if env.ExeDir == "" || env.Home == "" {
		return nil, fmt.Errorf("uninstall: the berth binary's folder and the home folder must be known")
	}
	tray := join(env.GOOS, env.ExeDir, layout.Exe(env.GOOS, "berth-tray"))
	berth := join(env.GOOS, env.ExeDir, layout.Exe(env.GOOS, "berth"))
	steps := []Step{{Kind: Autostart, Name: layout.AutostartName(env.GOOS), Command: quote(env.GOOS, tray)}}
	switch env.GOOS {
	case "windows":
		steps = append(steps, Step{Kind: PathEntry, Path: env.ExeDir})
	case "darwin":
		steps = append(steps, Step{Kind: Link, Path: "/usr/local/bin/berth", Target: berth})
		fallthrough
	default:
		steps = append(steps, Step{Kind: Link, Path: join(env.GOOS, env.Home, ".local", "bin", "berth"), Target: berth})
	}
	return steps, nil
}

// join joins paths with goos's separator (the plan is made for any OS).
func join(goos string, elem ...string) string {
	if goos == "windows" {
		return strings.TrimRight(elem[0], `\/`) + `\` + strings.Join(elem[1:], `\`)
	}
	return path.Join(elem...)
}

// onPath reports whether berth's folder is on PATH.
func onPath(env Env) bool {
	return slices.ContainsFunc(env.PathDirs, func(d string) bool { return sameDir(env.GOOS, d, env.ExeDir) })
}

func sameDir(goos, a, b string) bool {
	a, b = strings.TrimRight(a, `/\`), strings.TrimRight(b, `/\`)
	if goos == "windows" {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// quote makes a one-program command line: in double quotes on Windows
// (as the Run key wants), for a POSIX shell elsewhere (internal/autostart).
func quote(goos, p string) string {
	if goos == "windows" {
		return `"` + p + `"`
	}
	if !strings.ContainsAny(p, " \t\n'\"\\$`*?[]#~=%;&|<>(){}!") {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}

// AddPathEntry appends dir to a PATH value (sep-separated) unless it is
// there; changed says whether it was added.
func AddPathEntry(goos, value, dir string) (out string, changed bool) {
	sep := pathSep(goos)
	parts := split(value, sep)
	if slices.ContainsFunc(parts, func(p string) bool { return sameDir(goos, p, dir) }) {
		return value, false
	}
	return strings.Join(append(parts, dir), sep), true
}

// RemovePathEntry takes every copy of dir out of a PATH value.
func RemovePathEntry(goos, value, dir string) (out string, changed bool) {
	sep := pathSep(goos)
	parts := split(value, sep)
	kept := slices.DeleteFunc(slices.Clone(parts), func(p string) bool { return sameDir(goos, p, dir) })
	return strings.Join(kept, sep), len(kept) != len(parts)
}

func pathSep(goos string) string {
	if goos == "windows" {
		return ";"
	}
	return ":"
}

func split(value, sep string) []string {
	var parts []string
	for _, p := range strings.Split(value, sep) {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return parts
}
