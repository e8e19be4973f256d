package initd

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestBinfmtRules(t *testing.T) {
	tests := []struct {
		goarch  string
		rosetta bool
		name    string
		interp  string
	}{
		{"amd64", false, "qemu-aarch64", "/usr/bin/qemu-aarch64"},
		{"amd64", true, "qemu-aarch64", "/usr/bin/qemu-aarch64"}, // Rosetta runs amd64 code only
		{"arm64", false, "qemu-x86_64", "/usr/bin/qemu-x86_64"},
		{"arm64", true, "rosetta", "/mnt/rosetta/rosetta"},
	}
	for _, tt := range tests {
		rules := binfmtRules(tt.goarch, tt.rosetta)
		if len(rules) != 1 || rules[0].Name != tt.name || rules[0].Interpreter != tt.interp {
			t.Errorf("binfmtRules(%s, rosetta=%v) = %+v, want %s through %s", tt.goarch, tt.rosetta, rules, tt.name, tt.interp)
			continue
		}
		if !strings.Contains(rules[0].Flags, "F") {
			t.Errorf("%s: flags %q lack F: the interpreter would have to exist in every container", tt.name, rules[0].Flags)
		}
	}
	if r := binfmtRules("riscv64", false); r != nil {
		t.Errorf("riscv64: %+v, want none", r)
	}
}

// TestBinfmtRuleMatchesRealELF checks the magic and mask against a real
// executable, this test binary: the rule for the other architecture must
// not claim it (the kernel would then run native programs through the
// emulator), and the rule the other architecture's guest registers for
// this one must match it.
func TestBinfmtRuleMatchesRealELF(t *testing.T) {
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skip("needs a linux amd64 or arm64 test binary")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 64)
	if _, err := f.Read(head); err != nil {
		t.Fatal(err)
	}
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	for _, r := range binfmtRules(runtime.GOARCH, false) {
		if r.matches(head) {
			t.Errorf("%s's own rule %s matches its own executables", runtime.GOARCH, r.Name)
		}
	}
	for _, rosetta := range []bool{false, true} {
		for _, r := range binfmtRules(other, rosetta) {
			if !r.matches(head) {
				t.Errorf("an %s guest's rule %s does not match this %s executable", other, r.Name, runtime.GOARCH)
			}
		}
	}
	if (binfmtRule{Magic: elfX8664Magic, Mask: elfX8664Mask}).matches(head[:10]) {
		t.Error("a header shorter than the magic matched")
	}
}

func TestBinfmtRuleString(t *testing.T) {
	r := binfmtRule{Name: "qemu-aarch64", Magic: []byte{0x7f, 'E', ':'}, Mask: []byte{0xff, 0xff, 0x0a}, Interpreter: "/usr/bin/qemu-aarch64", Flags: "POCF"}
	want := `:qemu-aarch64:M::\x7f\x45\x3a:\xff\xff\x0a:/usr/bin/qemu-aarch64:POCF`
	if got := r.String(); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	for _, r := range append(binfmtRules("amd64", false), binfmtRules("arm64", true)...) {
		if len(r.Magic) != len(r.Mask) {
			t.Errorf("%s: magic %d bytes, mask %d", r.Name, len(r.Magic), len(r.Mask))
		}
		if n := strings.Count(r.String(), ":"); n != 7 {
			t.Errorf("%s: %d colons in %q, want 7 (:name:type:offset:magic:mask:interpreter:flags)", r.Name, n, r.String())
		}
	}
}

// ForeignBinfmt is the rule a guest of goarch registers without Rosetta,
// for the package's external end-to-end test.
func ForeignBinfmt(goarch string) (name, interpreter, flags string) {
	r := binfmtRules(goarch, false)[0]
	return r.Name, r.Interpreter, r.Flags
}
