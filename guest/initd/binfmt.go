package initd

import (
	"fmt"
	"strings"
)

// binfmtRule is one binfmt_misc registration: executables whose first
// bytes match Magic under Mask run through Interpreter (the kernel's
// Documentation/admin-guide/binfmt-misc.rst).
type binfmtRule struct {
	Name        string
	Magic, Mask []byte
	Interpreter string
	// Flags: F opens the interpreter when the rule is registered, so it
	// works in every container's mount namespace; O and C pass the
	// program as an open file and run it with its own credentials (setuid
	// programs inside containers); P keeps the program's argv[0].
	Flags string
}

// The 64-bit little-endian ELF executable headers of each architecture, as
// QEMU's scripts/qemu-binfmt-conf.sh gives them: e_ident up to the ABI
// version, then e_type (executable or shared object, through the mask) and
// e_machine.
var (
	elfX8664Magic = []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00")
	elfX8664Mask  = []byte("\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff")
	elfARM64Magic = []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00")
	elfARM64Mask  = []byte("\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff")
)

// RosettaMount is where the guest mounts the Rosetta share (virtio-fs tag
// "rosetta", Apple silicon under Virtualization.framework).
const RosettaMount = "/mnt/rosetta"

// binfmtRules are the registrations a guest of goarch makes so that images
// of the other architecture run: an amd64 guest runs arm64 binaries
// through QEMU's user-mode emulator from the image; an arm64 guest runs
// amd64 binaries through Rosetta when the host shares it, else through QEMU.
func binfmtRules(goarch string, rosetta bool) []binfmtRule {
	switch {
	case goarch == "amd64":
		return []binfmtRule{{Name: "qemu-aarch64", Magic: elfARM64Magic, Mask: elfARM64Mask, Interpreter: "/usr/bin/qemu-aarch64", Flags: "POCF"}}
	case goarch == "arm64" && rosetta:
		// Rosetta does not take argv[0] from binfmt_misc (no P).
		return []binfmtRule{{Name: "rosetta", Magic: elfX8664Magic, Mask: elfX8664Mask, Interpreter: RosettaMount + "/rosetta", Flags: "OCF"}}
	case goarch == "arm64":
		return []binfmtRule{{Name: "qemu-x86_64", Magic: elfX8664Magic, Mask: elfX8664Mask, Interpreter: "/usr/bin/qemu-x86_64", Flags: "POCF"}}
	}
	return nil
}

// String is the line written to binfmt_misc's register file: the magic and
// mask as \x escapes, which the kernel decodes (a raw ':' or newline in
// them would end the field).
func (r binfmtRule) String() string {
	return fmt.Sprintf(":%s:M::%s:%s:%s:%s", r.Name, escapeBytes(r.Magic), escapeBytes(r.Mask), r.Interpreter, r.Flags)
}

func escapeBytes(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, `\x%02x`, c)
	}
	return s.String()
}

// matches tells whether an executable starting with head would run
// through the rule, as the kernel decides it: every bit the mask keeps
// equal in head and magic.
func (r binfmtRule) matches(head []byte) bool {
	if len(head) < len(r.Magic) {
		return false
	}
	for i := range r.Magic {
		if (head[i]^r.Magic[i])&r.Mask[i] != 0 {
			return false
		}
	}
	return true
}
