package wsl2

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

var importArgs = ImportArgs("berth-default", `C:\b\distro`, `C:\b\rootfs.tar`)

func TestClassifyRecorded(t *testing.T) {
	for _, tc := range []struct {
		file   string
		args   []string
		kind   error
		code   string
		fixHas []string
	}{
		{"import-exists", importArgs, ErrDistroExists, "Wsl/Service/RegisterDistro/ERROR_ALREADY_EXISTS",
			[]string{"wsl --unregister berth-default"}},
		{"import-failed", importArgs, ErrImportFailed, "Wsl/Service/RegisterDistro/E_FAIL", nil},
		{"import-dir-in-use", importArgs, ErrDirInUse, "Wsl/Service/RegisterDistro/ERROR_FILE_EXISTS", nil},
		{"import-not-a-distro", importArgs, ErrImportFailed, "Wsl/Service/RegisterDistro/WSL_E_NOT_A_LINUX_DISTRO",
			[]string{"not a Linux root file system"}},
		{"not-installed", []string{"-l", "-q"}, ErrNotInstalled, "",
			[]string{"wsl --install --no-distribution"}},
		{"optional-component", importArgs, ErrNotInstalled, "Wsl/WSL_E_WSL_OPTIONAL_COMPONENT_REQUIRED",
			[]string{"wsl --install --no-distribution"}},
		{"no-vmp", importArgs, ErrNoWSL2, "Wsl/Service/RegisterDistro/CreateVm/HCS/HCS_E_HYPERV_NOT_INSTALLED",
			[]string{`"Virtual Machine Platform"`, "wsl --install --no-distribution", "wsl --set-default-version 2"}},
		{"kernel-update", importArgs, ErrNoWSL2, "", []string{"wsl --update"}},
		{"distro-not-found", []string{"--terminate", "berth-default"}, ErrDistroNotFound, "Wsl/Service/WSL_E_DISTRO_NOT_FOUND", nil},
		{"no-distros", []string{"-l", "-q"}, ErrNoDistros, "", nil},
		{"no-distros-code", []string{"-l", "-q"}, ErrNoDistros, "Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND", nil},
	} {
		for _, variant := range []string{".utf8", ".utf16le"} {
			t.Run(tc.file+variant, func(t *testing.T) {
				e := classify(tc.args, 255, Decode(recorded(t, tc.file+variant)))
				if !errors.Is(e, tc.kind) {
					t.Errorf("kind %v, want %v", e.Kind, tc.kind)
				}
				if e.Code != tc.code {
					t.Errorf("code %q, want %q", e.Code, tc.code)
				}
				for _, s := range tc.fixHas {
					if !strings.Contains(e.Error(), s) {
						t.Errorf("%q does not say %s", e.Error(), s)
					}
				}
			})
		}
	}
}

func TestClassifyText(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		out  string
		kind error
	}{
		// The same Win32 error in a context that is not the registration:
		// not a distro that exists (microsoft/WSL#10435).
		{"already exists while networking", []string{"-d", "x", "--exec", "true"},
			"A distribution with the supplied name already exists.\nError code: Wsl/Service/CreateInstance/CreateVm/ConfigureNetworking/0x800700b7", nil},
		{"already exists as an HRESULT, old import", importArgs,
			"Error code: Wsl/Service/0x800700b7", ErrDistroExists},
		{"translated text, untranslated code", importArgs,
			"Для этого распределения выполняется установка.\nError code: Wsl/Service/RegisterDistro/ERROR_ALREADY_EXISTS", ErrDistroExists},
		{"translated label", importArgs,
			"Código de error: Wsl/Service/RegisterDistro/CreateVm/HCS/HCS_E_HYPERV_NOT_INSTALLED", ErrNoWSL2},
		{"old HRESULT of a missing Virtual Machine Platform", importArgs,
			"WslRegisterDistribution failed with error: 0x80370102", ErrNoWSL2},
		{"old HRESULT of a missing kernel", importArgs,
			"Error: 0x800701bc WSL 2 ...", ErrNoWSL2},
		{"Virtual Machine Platform required", importArgs,
			"Error code: Wsl/Service/RegisterDistro/WSL_E_VIRTUAL_MACHINE_PLATFORM_REQUIRED", ErrNoWSL2},
		// WslClient.cpp prints it, with no code, when --running finds none
		// and --quiet is not given; older versions may print it anyway.
		{"none running", []string{"-l", "-q", "--running"}, "There are no running distributions.", ErrNoDistros},
		// MessageDistroInstallPathAlreadyExists, thrown with ERROR_FILE_EXISTS
		// by _ValidateDistributionNameAndPathNotInUse (LxssUserSession.cpp).
		{"directory of another distro", importArgs, "Error code: Wsl/Service/RegisterDistro/ERROR_FILE_EXISTS", ErrDirInUse},
		{"file exists elsewhere", []string{"--export", "x", "y"}, "Error code: Wsl/Service/ExportDistro/ERROR_FILE_EXISTS", nil},
		{"unknown failure of another call", []string{"--terminate", "x"},
			"Access is denied.\nError code: Wsl/Service/TerminateDistro/E_ACCESSDENIED", nil},
		{"any import failure", importArgs,
			"Access is denied.\nError code: Wsl/Service/RegisterDistro/E_ACCESSDENIED", ErrImportFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := classify(tc.args, 1, tc.out)
			if tc.kind == nil && e.Kind != nil || tc.kind != nil && !errors.Is(e, tc.kind) {
				t.Errorf("kind %v, want %v", e.Kind, tc.kind)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	e := classify(importArgs, 4294967295, Decode(recorded(t, "import-failed.utf16le")))
	want := `wsl.exe --import berth-default C:\b\distro C:\b\rootfs.tar --version 2: importing the WSL distro failed: ` +
		"Import in progress, this may take a few minutes. Unspecified error Error code: Wsl/Service/RegisterDistro/E_FAIL (exit status 4294967295)"
	if e.Error() != want {
		t.Errorf("got  %s\nwant %s", e.Error(), want)
	}
	cause := errors.New("boom")
	e = &Error{Args: []string{"--status"}, ExitCode: -1, Err: cause}
	if !errors.Is(e, cause) || !strings.HasSuffix(e.Error(), ": boom") {
		t.Errorf("%v does not carry its cause", e)
	}
}

func TestErrorMessageIsBounded(t *testing.T) {
	usage := strings.Repeat("Usage: wsl.exe [Argument] [Options...] [CommandLine]\n", 100)
	e := classify([]string{"--version"}, 1, usage)
	if n := len(e.Error()); n > maxSummary+100 {
		t.Errorf("a %d-byte message", n)
	}
	if e.Output != usage {
		t.Error("the whole output is not kept")
	}
	if s := summary(strings.Repeat("é", maxSummary)); !utf8.ValidString(s) {
		t.Errorf("cut inside a character: %q", s[len(s)-8:])
	}
}
