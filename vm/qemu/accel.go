package qemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// accelFor lists the accelerators worth trying on this host, best first. TCG
// (software emulation) always works and is always last.
func accelFor(goos, hostArch, guestArch string, kvmUsable bool) []string {
	if hostArch != guestArch {
		return []string{"tcg"}
	}
	switch goos {
	case "linux":
		if kvmUsable {
			return []string{"kvm", "tcg"}
		}
	case "darwin":
		return []string{"hvf", "tcg"}
	case "windows":
		return []string{"whpx", "tcg"}
	}
	return []string{"tcg"}
}

// verdict remembers which accelerator works with this QEMU, guest kernel and
// host kernel, so a KVM that cannot run the guest is not tried at every start.
type verdict struct {
	Key         string `json:"key"`
	Accelerator string `json:"accelerator"`
	Note        string `json:"note"`
}

func readVerdict(path, key string) (verdict, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return verdict{}, false
	}
	var v verdict
	if json.Unmarshal(b, &v) != nil || v.Key != key {
		return verdict{}, false
	}
	return v, true
}

func writeVerdict(path string, v verdict) error { return writeJSONFile(path, v) }

// writeJSONFile replaces path with v as JSON, atomically: a reader never
// sees half a file.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o600)
}

// verdictKey identifies what the verdict depends on: the emulator binary,
// the guest kernel and the host kernel.
func verdictKey(binary, kernel, hostRelease string) string {
	return fmt.Sprintf("%s|%s|%s", fileID(binary), fileID(kernel), hostRelease)
}

func fileID(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return filepath.Base(path)
	}
	return fmt.Sprintf("%s:%d:%d", filepath.Base(path), st.Size(), st.ModTime().UnixNano())
}

// errAccel marks a failure that a different accelerator might not have.
type errAccel struct {
	accel  string
	reason string
}

func (e *errAccel) Error() string {
	return fmt.Sprintf("%s could not run the guest: %s", e.accel, e.reason)
}

func isAccelFailure(err error) bool {
	var e *errAccel
	return errors.As(err, &e)
}
