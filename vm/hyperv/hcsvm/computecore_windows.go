package hcsvm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The Host Compute Service's API (computecore.dll, Windows 10 1809 and
// later), called directly: hcsshim keeps its wrapper internal. Every call
// is asynchronous in HCS and made synchronous here with an operation and
// HcsWaitForOperationResult; signatures from computecore.h.
var (
	computecore                       = windows.NewLazySystemDLL("computecore.dll")
	procHcsCreateOperation            = computecore.NewProc("HcsCreateOperation")
	procHcsCloseOperation             = computecore.NewProc("HcsCloseOperation")
	procHcsWaitForOperationResult     = computecore.NewProc("HcsWaitForOperationResult")
	procHcsCreateComputeSystem        = computecore.NewProc("HcsCreateComputeSystem")
	procHcsOpenComputeSystem          = computecore.NewProc("HcsOpenComputeSystem")
	procHcsCloseComputeSystem         = computecore.NewProc("HcsCloseComputeSystem")
	procHcsStartComputeSystem         = computecore.NewProc("HcsStartComputeSystem")
	procHcsShutDownComputeSystem      = computecore.NewProc("HcsShutDownComputeSystem")
	procHcsTerminateComputeSystem     = computecore.NewProc("HcsTerminateComputeSystem")
	procHcsGetComputeSystemProperties = computecore.NewProc("HcsGetComputeSystemProperties")
)

// HRESULTs that mean something to the Manager (hcsshim internal/hcs/errors.go).
const (
	hcsSystemNotFound   = 0xc037010e // HCS_E_SYSTEM_NOT_FOUND
	hcsAlreadyStopped   = 0xc0370110 // HCS_E_SYSTEM_ALREADY_STOPPED
	hcsAlreadyStoppedW  = 0x80370110 // the same, as a warning
	genericAllAccess    = 0x10000000 // GENERIC_ALL, for HcsOpenComputeSystem
	waitInfinite        = math.MaxUint32
	hcsOperationTimeout = 0x800705b4 // HRESULT_FROM_WIN32(ERROR_TIMEOUT)
)

type hcsError struct {
	call   string
	hr     uint32
	result string // HCS's error document, when it gave one
}

func (e *hcsError) Error() string {
	msg := fmt.Sprintf("%s: HRESULT 0x%08x (%v)", e.call, e.hr, syscall.Errno(e.hr))
	if e.result != "" {
		msg += ": " + e.result
	}
	return msg
}

func (e *hcsError) Is(target error) bool {
	return target == errNotFound && e.hr == hcsSystemNotFound
}

func failed(r1 uintptr) bool { return int32(uint32(r1)) < 0 }

// computecore is computeService over computecore.dll.
type computecoreService struct{}

func newComputeService() computeService { return computecoreService{} }

// run makes one HCS call with a new operation and waits for its result
// until ctx's deadline; the result document is returned.
func run(ctx context.Context, name string, call func(op uintptr) uintptr) (string, error) {
	if err := computecore.Load(); err != nil {
		return "", fmt.Errorf("the Host Compute Service (computecore.dll; is the Hyper-V feature on?): %w", err)
	}
	op, _, err := procHcsCreateOperation.Call(0, 0)
	if op == 0 {
		return "", fmt.Errorf("HcsCreateOperation: %w", err)
	}
	defer procHcsCloseOperation.Call(op) //nolint:errcheck // returns nothing
	if hr := call(op); failed(hr) {
		return "", &hcsError{call: name, hr: uint32(hr)}
	}
	timeout := uint32(waitInfinite)
	if d, ok := ctx.Deadline(); ok {
		ms := time.Until(d).Milliseconds()
		timeout = uint32(max(0, min(ms, math.MaxUint32-1)))
	}
	var doc *uint16
	hr, _, _ := procHcsWaitForOperationResult.Call(op, uintptr(timeout), uintptr(unsafe.Pointer(&doc)))
	result := takeString(doc)
	if failed(hr) {
		if uint32(hr) == hcsOperationTimeout && ctx.Err() != nil {
			return "", fmt.Errorf("%s: %w", name, ctx.Err())
		}
		return "", &hcsError{call: name, hr: uint32(hr), result: result}
	}
	return result, nil
}

// takeString reads a string HCS allocated and frees it.
func takeString(p *uint16) string {
	if p == nil {
		return ""
	}
	s := windows.UTF16PtrToString(p)
	_, _ = windows.LocalFree(windows.Handle(unsafe.Pointer(p)))
	return s
}

func utf16(s string) (*uint16, error) { return windows.UTF16PtrFromString(s) }

// open opens the compute system id; the caller closes it.
func open(id string) (uintptr, error) {
	if err := computecore.Load(); err != nil {
		return 0, fmt.Errorf("the Host Compute Service (computecore.dll; is the Hyper-V feature on?): %w", err)
	}
	pid, err := utf16(id)
	if err != nil {
		return 0, err
	}
	var h uintptr
	hr, _, _ := procHcsOpenComputeSystem.Call(uintptr(unsafe.Pointer(pid)), genericAllAccess, uintptr(unsafe.Pointer(&h)))
	if failed(hr) {
		return 0, &hcsError{call: "HcsOpenComputeSystem", hr: uint32(hr)}
	}
	return h, nil
}

func closeSystem(h uintptr) { _, _, _ = procHcsCloseComputeSystem.Call(h) }

// withSystem opens id, makes one call on it with an operation, closes it.
func withSystem(ctx context.Context, id, name string, proc *windows.LazyProc) (string, error) {
	h, err := open(id)
	if err != nil {
		return "", err
	}
	defer closeSystem(h)
	return run(ctx, name, func(op uintptr) uintptr {
		hr, _, _ := proc.Call(h, op, 0)
		return hr
	})
}

func (computecoreService) Create(ctx context.Context, id, document string) error {
	pid, err := utf16(id)
	if err != nil {
		return err
	}
	pdoc, err := utf16(document)
	if err != nil {
		return err
	}
	var h uintptr
	_, err = run(ctx, "HcsCreateComputeSystem", func(op uintptr) uintptr {
		hr, _, _ := procHcsCreateComputeSystem.Call(uintptr(unsafe.Pointer(pid)), uintptr(unsafe.Pointer(pdoc)), op, 0, uintptr(unsafe.Pointer(&h)))
		return hr
	})
	if h != 0 {
		closeSystem(h)
	}
	return err
}

func (computecoreService) Start(ctx context.Context, id string) error {
	_, err := withSystem(ctx, id, "HcsStartComputeSystem", procHcsStartComputeSystem)
	return err
}

func (computecoreService) Shutdown(ctx context.Context, id string) error {
	_, err := withSystem(ctx, id, "HcsShutDownComputeSystem", procHcsShutDownComputeSystem)
	return err
}

func (computecoreService) Terminate(ctx context.Context, id string) error {
	_, err := withSystem(ctx, id, "HcsTerminateComputeSystem", procHcsTerminateComputeSystem)
	var he *hcsError
	if errors.As(err, &he) && (he.hr == hcsAlreadyStopped || he.hr == hcsAlreadyStoppedW) {
		return nil
	}
	return err
}

func (computecoreService) Properties(ctx context.Context, id string) (systemProperties, error) {
	doc, err := withSystem(ctx, id, "HcsGetComputeSystemProperties", procHcsGetComputeSystemProperties)
	if err != nil {
		return systemProperties{}, err
	}
	return parseProperties([]byte(doc))
}

// Close opens the compute system and closes it again: HCS forgets a
// stopped compute system once no handle to it is left.
func (computecoreService) Close(_ context.Context, id string) error {
	h, err := open(id)
	if err != nil {
		return err
	}
	closeSystem(h)
	return nil
}
