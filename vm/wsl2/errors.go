package wsl2

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// What a failed call means, for errors.Is. An *Error wraps one of them
// when it knows, with the fix in its message.
var (
	// ErrNotInstalled: no WSL at all (no wsl.exe, the inbox stub that only
	// offers to install it, or the Store WSL without its optional component).
	ErrNotInstalled = errors.New("the Windows Subsystem for Linux is not installed")
	// ErrNoWSL2: WSL runs but cannot start a WSL 2 VM (no "Virtual Machine
	// Platform", virtualization off, or no WSL 2 kernel): WSL 1 at most.
	ErrNoWSL2 = errors.New("WSL 2 is not available")
	// ErrDistroExists: a distro with that name is already registered.
	ErrDistroExists = errors.New("the WSL distro already exists")
	// ErrDirInUse: another distro is registered in the directory an
	// import was given.
	ErrDirInUse = errors.New("another WSL distro is registered in that directory")
	// ErrDistroNotFound: no distro has that name.
	ErrDistroNotFound = errors.New("no WSL distro has that name")
	// ErrNoDistros: WSL has no distro at all (older wsl.exe fails a list
	// that finds none; List answers an empty list instead).
	ErrNoDistros = errors.New("WSL has no distros")
	// ErrImportFailed: wsl --import failed for another reason.
	ErrImportFailed = errors.New("importing the WSL distro failed")
)

// Commands the errors tell the user to run.
const (
	installCmd = "wsl --install --no-distribution"
	updateCmd  = "wsl --update"
)

// Error is a wsl.exe call that failed.
type Error struct {
	// Args are wsl.exe's arguments.
	Args []string
	// ExitCode is wsl.exe's exit status; -1 when it did not run.
	ExitCode int
	// Code is the error code wsl.exe printed ("Wsl/Service/RegisterDistro/
	// ERROR_ALREADY_EXISTS"): contexts and the error's name, never
	// translated. Empty when it printed none (older versions, the inbox
	// stub, errors WSL prints without one).
	Code string
	// Output is what it printed (stdout, then stderr), decoded.
	Output string
	// Kind is one of the Err* sentinels, or nil when the failure is not
	// one this package tells apart.
	Kind error
	// Fix says what the user can do about Kind.
	Fix string
	// Err is why wsl.exe could not run, when it did not.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("wsl.exe " + strings.Join(e.Args, " ") + ": ")
	if e.Kind != nil {
		b.WriteString(e.Kind.Error())
		if e.Fix != "" {
			b.WriteString(" (" + e.Fix + ")")
		}
		b.WriteString(": ")
	}
	switch {
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		fmt.Fprintf(&b, "%s (exit status %d)", summary(e.Output), e.ExitCode)
	}
	return b.String()
}

// maxSummary bounds the output an error message repeats (the inbox
// wsl.exe answers an option it does not know with its whole usage text);
// Error.Output keeps all of it.
const maxSummary = 600

// summary is output on one line, cut to maxSummary bytes.
func summary(output string) string {
	msg := strings.Join(lines(output), " ")
	switch {
	case msg == "":
		return "no output"
	case len(msg) > maxSummary:
		cut := maxSummary
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		return msg[:cut] + "..."
	}
	return msg
}

// Unwrap gives the kind and the process error, for errors.Is and As.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// codeRE finds the error code wsl.exe prints after "Error code: " (a label
// some versions translate): the entry point's context, Wsl, then the
// contexts the error passed and its name or HRESULT, slash-separated.
var codeRE = regexp.MustCompile(`(?:^|[\s:])(Wsl/[^\s]+)`)

// hresultRE finds HRESULTs that older versions print without a code
// ("WslRegisterDistribution failed with error: 0x80370102").
var hresultRE = regexp.MustCompile(`0x[0-9a-fA-F]{8}`)

// failure is what classify reads from a failed call.
type failure struct {
	importing bool     // the call was --import
	contexts  []string // the code's contexts, "Wsl" first
	name      string   // the code's last part: an error name or an HRESULT
	hresults  []string // HRESULTs anywhere in the output, lower case
	output    string
}

func (f failure) is(names ...string) bool {
	for _, n := range names {
		if strings.EqualFold(f.name, n) || slices.Contains(f.hresults, strings.ToLower(n)) {
			return true
		}
	}
	return false
}

func (f failure) in(context string) bool { return slices.Contains(f.contexts, context) }

// says matches English text: the fallback for output with no code.
func (f failure) says(texts ...string) bool {
	for _, t := range texts {
		if strings.Contains(f.output, t) {
			return true
		}
	}
	return false
}

// classify makes the error of a call that exited with code and printed
// output. It reads the untranslated error code first (names and HRESULTs
// from the WSL sources: wslservice.idl, wslutil.cpp), and English text only
// for what older versions print without one.
func classify(args []string, code int, output string) *Error {
	e := &Error{Args: args, ExitCode: code, Output: output}
	f := failure{importing: len(args) > 0 && args[0] == "--import", output: output}
	if m := codeRE.FindStringSubmatch(output); m != nil {
		e.Code = m[1]
		parts := strings.Split(e.Code, "/")
		f.contexts, f.name = parts[:len(parts)-1], parts[len(parts)-1]
	}
	for _, h := range hresultRE.FindAllString(output, -1) {
		f.hresults = append(f.hresults, strings.ToLower(h))
	}
	e.Fix, e.Kind = kindOf(f, args)
	return e
}

func kindOf(f failure, args []string) (fix string, kind error) {
	switch {
	case f.is("WSL_E_WSL_OPTIONAL_COMPONENT_REQUIRED", "0x80040321"),
		f.says("The Windows Subsystem for Linux is not installed"):
		return notInstalledFix, ErrNotInstalled
	case f.is("WSL_E_VIRTUAL_MACHINE_PLATFORM_REQUIRED", "0x8004032d", "HCS_E_HYPERV_NOT_INSTALLED", "0x80370102"):
		return noVMPFix, ErrNoWSL2
	case f.is("0x800701bc"),
		f.says("requires an update to its kernel component", "kernel file is not found"):
		return kernelFix, ErrNoWSL2
	case f.is("ERROR_ALREADY_EXISTS", "0x800700b7") && (f.in("RegisterDistro") || f.importing && len(f.contexts) <= 2):
		return existsFix(args), ErrDistroExists
	case f.importing && f.is("ERROR_FILE_EXISTS", "0x80070050") && f.in("RegisterDistro"):
		return "give each distro a directory of its own", ErrDirInUse
	case f.is("WSL_E_DISTRO_NOT_FOUND", "0x80040302"):
		return "", ErrDistroNotFound
	case f.is("WSL_E_DEFAULT_DISTRO_NOT_FOUND", "0x80040301"),
		f.says("has no installed distributions", "There are no running distributions."):
		return "", ErrNoDistros
	case f.is("WSL_E_NOT_A_LINUX_DISTRO", "0x80040326"):
		return "the tar is not a Linux root file system", ErrImportFailed
	case f.importing:
		return "", ErrImportFailed
	}
	return "", nil
}

const (
	notInstalledFix = "install it from an administrator prompt with `" + installCmd + "`, then restart Windows"
	noVMPFix        = "Berth needs WSL 2, and WSL 1 alone cannot run it: enable the \"Virtual Machine Platform\" Windows feature " +
		"(`" + installCmd + "` from an administrator prompt) and virtualization in the firmware, restart Windows; " +
		"`wsl --set-default-version 2` then succeeds too"
	kernelFix = "the WSL 2 kernel is missing or too old: run `" + updateCmd + "`"
)

func existsFix(args []string) string {
	if len(args) < 2 {
		return ""
	}
	return "`wsl --unregister " + args[1] + "` deletes it with its disk"
}
