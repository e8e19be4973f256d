package vz

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestParseMacOSVersion(t *testing.T) {
	for in, want := range map[string]macOSVersion{
		"13.0":      {13, 0, 0},
		"14.6.1\n":  {14, 6, 1}, // sw_vers -productVersion
		"15.5":      {15, 5, 0},
		" 26.1 ":    {26, 1, 0},
		"12.7.6":    {12, 7, 6},
		"11":        {11, 0, 0},
		"10.15.7\n": {10, 15, 7},
	} {
		got, err := parseMacOSVersion(in)
		if err != nil || got != want {
			t.Errorf("parseMacOSVersion(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "\n", "fourteen", "14.", ".1", "14.6.1.2", "14.-1", "14.+1", "14 .6", "ProductVersion: 14.6"} {
		if v, err := parseMacOSVersion(in); err == nil {
			t.Errorf("parseMacOSVersion(%q) = %v, want an error", in, v)
		}
	}
}

func TestMacOSVersionLess(t *testing.T) {
	ordered := []string{"10.15.7", "12.7.6", "13.0", "13.0.1", "13.6", "14.0", "15.4.1", "15.5", "26.0"}
	for i, a := range ordered {
		for j, b := range ordered {
			va, _ := parseMacOSVersion(a)
			vb, _ := parseMacOSVersion(b)
			if got := va.less(vb); got != (i < j) {
				t.Errorf("%s < %s = %v", a, b, got)
			}
		}
	}
}

func TestCheckMacOS(t *testing.T) {
	for _, ok := range []string{"13.0", "13.6.9", "14.6.1\n", "15.5", "26.0"} {
		if err := checkMacOS(ok); err != nil {
			t.Errorf("checkMacOS(%q) = %v", ok, err)
		}
	}
	for in, want := range map[string][]string{
		"12.7.6":   {"macOS 13.0 or later", "macOS 12.7.6", "qemu driver", "HVF"},
		"11.0":     {"macOS 13.0 or later", "macOS 11.0", "qemu driver"},
		"10.15.7":  {"macOS 10.15.7", "qemu driver"},
		"garbage!": {`"garbage!"`, "vz driver"},
	} {
		err := checkMacOS(in)
		if err == nil {
			t.Errorf("checkMacOS(%q) = nil, want an error", in)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("checkMacOS(%q) = %q, does not say %q", in, err, w)
			}
		}
	}
}

func TestHostMacOSVersion(t *testing.T) {
	v, err := hostMacOSVersion()
	if runtime.GOOS != "darwin" {
		if !errors.Is(err, errNoVZ) {
			t.Fatalf("hostMacOSVersion on %s = %q, %v; want errNoVZ", runtime.GOOS, v, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseMacOSVersion(v); err != nil {
		t.Fatalf("this Mac's own version does not parse: %v", err)
	}
}
