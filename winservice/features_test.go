package winservice

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDISMFeatureInfo(t *testing.T) {
	for _, tc := range []struct {
		file string
		code uint32
		want FeatureState
		err  string
	}{
		{"dism-containers-enabled.txt", 0, FeatureEnabled, ""},
		{"dism-containers-disabled.txt", 0, FeatureDisabled, ""},
		{"dism-containers-payload-removed.txt", 0, FeatureDisabled, ""},
		{"dism-hyperv-enable-pending.txt", 0, FeatureEnablePending, ""},
		{"dism-hyperv-disable-pending.txt", 0, FeatureDisablePending, ""},
		{"dism-containers-unknown.txt", 0x800f080c, FeatureAbsent, ""},
		{"dism-not-elevated.txt", 740, "", "exit code 0x2e4"},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseDISMFeatureInfo(string(b), tc.code)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want an error with %q", tc.file, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.file, got, err, tc.want)
		}
	}
	if _, err := ParseDISMFeatureInfo("State : Staged\r\n", 0); err == nil || !strings.Contains(err.Error(), `"Staged"`) {
		t.Errorf("unknown state: %v", err)
	}
	if _, err := ParseDISMFeatureInfo("The operation completed successfully.\r\n", 0); err == nil || !strings.Contains(err.Error(), "no State line") {
		t.Errorf("no state: %v", err)
	}
}

func TestCheckFeatures(t *testing.T) {
	for _, tc := range []struct {
		f    Features
		want []string // "" : nil
	}{
		{Features{FeatureEnabled, FeatureEnabled}, nil},
		{Features{FeatureDisabled, FeatureEnabled}, []string{"the Windows feature Containers is off", "`" + EnableCommand + "`", "elevated PowerShell", "restart Windows"}},
		{Features{FeatureDisabled, FeatureDisablePending}, []string{"Containers and Microsoft-Hyper-V is off"}},
		{Features{FeatureEnabled, FeatureEnablePending}, []string{"Microsoft-Hyper-V is enabled but waits for a restart of Windows"}},
		{Features{FeatureDisabled, FeatureEnablePending}, []string{"Containers is off", "(Microsoft-Hyper-V is enabled already and waits for that restart)"}},
		{Features{FeatureAbsent, FeatureAbsent}, []string{"this edition of Windows has no Containers or Microsoft-Hyper-V feature", "Pro, Enterprise or Education"}},
		{Features{}, []string{"Containers and Microsoft-Hyper-V is off"}},
	} {
		err := CheckFeatures(tc.f)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%+v: %v", tc.f, err)
			}
			continue
		}
		if !errors.Is(err, ErrFeatures) {
			t.Errorf("%+v: %v, want ErrFeatures", tc.f, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %q lacks %q", tc.f, err, w)
			}
		}
	}
}

// DISM runs once per feature, with /English and the fixed names only.
func TestDISMFeatures(t *testing.T) {
	var calls []string
	d := DISM{Run: func(_ context.Context, args ...string) (string, uint32, error) {
		calls = append(calls, strings.Join(args, " "))
		file := "dism-containers-enabled.txt"
		if strings.HasSuffix(args[len(args)-1], FeatureHyperV) {
			file = "dism-hyperv-enable-pending.txt"
		}
		b, err := os.ReadFile(filepath.Join("testdata", file))
		return string(b), 0, err
	}}
	f, err := d.Features(context.Background())
	if err != nil || f != (Features{FeatureEnabled, FeatureEnablePending}) {
		t.Fatalf("Features = %+v, %v", f, err)
	}
	want := "/English /Online /Get-FeatureInfo /FeatureName:Containers|/English /Online /Get-FeatureInfo /FeatureName:Microsoft-Hyper-V"
	if strings.Join(calls, "|") != want {
		t.Fatalf("dism calls %q", calls)
	}
	d.Run = func(context.Context, ...string) (string, uint32, error) { return "Error: 740\r\n", 740, nil }
	if _, err := d.Features(context.Background()); err == nil || !strings.Contains(err.Error(), "feature Containers: dism failed") {
		t.Fatalf("failing dism: %v", err)
	}
}
