package winservice

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// FeatureState is one Windows optional feature's state.
type FeatureState string

// The states Berth tells apart. DISM's own (DismPackageFeatureState) has
// more; they map onto these.
const (
	FeatureEnabled        FeatureState = "enabled"
	FeatureDisabled       FeatureState = "disabled"
	FeatureEnablePending  FeatureState = "enable-pending"  // enabled, waiting for a restart of Windows
	FeatureDisablePending FeatureState = "disable-pending" // still on until the restart that removes it
	FeatureAbsent         FeatureState = "absent"          // this edition has no such feature (Windows Home)
)

// The features Windows containers need: Containers for the engine, and
// Hyper-V for the isolation a Windows client uses.
const (
	FeatureContainers = "Containers"
	FeatureHyperV     = "Microsoft-Hyper-V"
)

// EnableCommand is what enables both features, in an elevated PowerShell.
const EnableCommand = "Enable-WindowsOptionalFeature -Online -FeatureName Containers,Microsoft-Hyper-V -All"

// Features are the states of the two features.
type Features struct {
	Containers FeatureState `json:"containers"`
	HyperV     FeatureState `json:"hyperV"`
}

// dismUnknownFeature is DISM's exit code (0x800f080c) for a feature name
// this Windows does not have.
const dismUnknownFeature = 0x800f080c

// ParseDISMFeatureInfo reads the output of
// `dism.exe /English /Online /Get-FeatureInfo /FeatureName:NAME` (its
// "State : ..." line; /English keeps it from being localized) and the
// exit code DISM returned.
func ParseDISMFeatureInfo(out string, exitCode uint32) (FeatureState, error) {
	if exitCode == dismUnknownFeature {
		return FeatureAbsent, nil
	}
	if exitCode != 0 {
		return "", fmt.Errorf("dism failed (exit code %#x): %s", exitCode, lastLine(out))
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "State") {
			continue
		}
		switch strings.ToLower(strings.Join(strings.Fields(v), " ")) {
		case "enabled":
			return FeatureEnabled, nil
		case "enable pending":
			return FeatureEnablePending, nil
		case "disabled", "disabled with payload removed":
			return FeatureDisabled, nil
		case "disable pending":
			return FeatureDisablePending, nil
		default:
			return "", fmt.Errorf("dism: unknown feature state %q", strings.TrimSpace(v))
		}
	}
	return "", fmt.Errorf("dism: no State line in its output: %s", lastLine(out))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// ErrFeatures is wrapped by CheckFeatures' refusal.
var ErrFeatures = errors.New("windows features missing")

// CheckFeatures says whether Windows containers can run with f, and when
// not, exactly why and what to do (the elevated command, or the restart).
func CheckFeatures(f Features) error {
	var needEnable, needRestart, absent []string
	for _, x := range []struct {
		name  string
		state FeatureState
	}{{FeatureContainers, f.Containers}, {FeatureHyperV, f.HyperV}} {
		switch x.state {
		case FeatureEnabled:
		case FeatureEnablePending:
			needRestart = append(needRestart, x.name)
		case FeatureAbsent:
			absent = append(absent, x.name)
		default: // disabled, disable-pending, unknown
			needEnable = append(needEnable, x.name)
		}
	}
	switch {
	case len(absent) > 0:
		return fmt.Errorf("%w: this edition of Windows has no %s feature: Windows containers need Windows 10 or 11 Pro, Enterprise or Education, or Windows Server",
			ErrFeatures, strings.Join(absent, " or "))
	case len(needEnable) > 0:
		also := ""
		if len(needRestart) > 0 {
			also = fmt.Sprintf(" (%s is enabled already and waits for that restart)", strings.Join(needRestart, " and "))
		}
		return fmt.Errorf("%w: the Windows feature %s is off: enable it in an elevated PowerShell with `%s`, then restart Windows%s",
			ErrFeatures, strings.Join(needEnable, " and "), EnableCommand, also)
	case len(needRestart) > 0:
		return fmt.Errorf("%w: the Windows feature %s is enabled but waits for a restart of Windows: restart, then switch again",
			ErrFeatures, strings.Join(needRestart, " and "))
	}
	return nil
}

// DISM reads the features with dism.exe, as the elevated service (DISM
// refuses a standard user; the service answers for it).
type DISM struct {
	// Run runs dism with args and returns its output and exit code;
	// nil runs %SystemRoot%\System32\dism.exe.
	Run func(ctx context.Context, args ...string) (string, uint32, error)
}

// Features implements FeatureReader.
func (d DISM) Features(ctx context.Context) (Features, error) {
	run := d.Run
	if run == nil {
		run = runDISM
	}
	var f Features
	for _, x := range []struct {
		name string
		dst  *FeatureState
	}{{FeatureContainers, &f.Containers}, {FeatureHyperV, &f.HyperV}} {
		out, code, err := run(ctx, "/English", "/Online", "/Get-FeatureInfo", "/FeatureName:"+x.name)
		if err != nil {
			return Features{}, fmt.Errorf("feature %s: %w", x.name, err)
		}
		st, err := ParseDISMFeatureInfo(out, code)
		if err != nil {
			return Features{}, fmt.Errorf("feature %s: %w", x.name, err)
		}
		*x.dst = st
	}
	return f, nil
}

func runDISM(ctx context.Context, args ...string) (string, uint32, error) {
	exe := filepath.Join(os.Getenv("SystemRoot"), "System32", "dism.exe")
	out, err := exec.CommandContext(ctx, exe, args...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), uint32(ee.ExitCode()), nil //nolint:gosec // an exit code is a 32-bit HRESULT here
	}
	return string(out), 0, err
}
