package wsl2

import (
	"fmt"
	"regexp"
	"strings"
)

// DistroPrefix starts the name of every distro Berth owns, so that Berth
// never touches a distro the user made.
const DistroPrefix = "berth-"

// maxDistroName is WSL's limit (LX_INIT_DISTRO_NAME_MAX in the WSL sources).
const maxDistroName = 256

// distroNameRE is the pattern the WSL service checks a new distro's name
// against (s_ValidateDistroName in src/windows/service/exe/LxssUserSession.cpp).
var distroNameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// DistroName is the name of machine's distro: berth-<machine>. The machine
// name must make a name WSL accepts.
func DistroName(machine string) (string, error) {
	name := DistroPrefix + machine
	if machine == "" {
		return "", fmt.Errorf("machine name: empty, a WSL distro needs one (%s<machine>)", DistroPrefix)
	}
	if err := ValidateDistroName(name); err != nil {
		return "", fmt.Errorf("machine name %q: %w", machine, err)
	}
	return name, nil
}

// ValidateDistroName checks name as WSL checks it on import: 1 to 256
// letters, digits, '.', '_' and '-', and not "Legacy" (the name WSL keeps
// for its first, pre-Store distro). Stricter than WSL, it refuses a name
// that starts with '-', which wsl.exe would read as an option.
func ValidateDistroName(name string) error {
	switch {
	case len(name) > maxDistroName:
		return fmt.Errorf("WSL distro name %q: %d characters, WSL allows at most %d", name, len(name), maxDistroName)
	case !distroNameRE.MatchString(name):
		return fmt.Errorf("WSL distro name %q: WSL allows only letters, digits, '.', '_' and '-'", name)
	case strings.HasPrefix(name, "-"):
		return fmt.Errorf("WSL distro name %q: starts with '-', wsl.exe would take it for an option", name)
	case strings.EqualFold(name, "Legacy"):
		return fmt.Errorf("WSL distro name %q: WSL reserves it", name)
	}
	return nil
}

// sameDistro compares names as WSL does: without regard to case.
func sameDistro(a, b string) bool { return strings.EqualFold(a, b) }
