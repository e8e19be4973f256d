package hcsvm

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestComputecoreMissing: a Windows without the Hyper-V feature (and Wine,
// which has no computecore.dll) gets an error that names the DLL and the
// feature, from every call, and no crash. Where the DLL loads (a real
// Windows with Hyper-V) the calls would reach the real HCS: skipped.
func TestComputecoreMissing(t *testing.T) {
	if computecore.Load() == nil {
		t.Skip("computecore.dll loads here: this is a Windows with Hyper-V, whose HCS these tests do not touch")
	}
	hcs := newComputeService()
	ctx := context.Background()
	_, err := hcs.Properties(ctx, "berth-test")
	errs := []error{err,
		hcs.Create(ctx, "berth-test", "{}"),
		hcs.Start(ctx, "berth-test"),
		hcs.Shutdown(ctx, "berth-test"),
		hcs.Terminate(ctx, "berth-test"),
		hcs.Close(ctx, "berth-test"),
	}
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "computecore.dll") || !strings.Contains(err.Error(), "Hyper-V") {
			t.Errorf("call %d: %v", i, err)
		}
		if errors.Is(err, errNotFound) {
			t.Errorf("call %d: a missing DLL taken for a missing compute system", i)
		}
	}
}

func TestHcsErrorNotFound(t *testing.T) {
	if !errors.Is(&hcsError{call: "HcsOpenComputeSystem", hr: hcsSystemNotFound}, errNotFound) {
		t.Error("HCS_E_SYSTEM_NOT_FOUND is not errNotFound")
	}
	e := &hcsError{call: "HcsStartComputeSystem", hr: 0x80370102, result: `{"Error":-2143878910,"ErrorMessage":"The virtual machine could not be started"}`}
	if errors.Is(e, errNotFound) || !strings.Contains(e.Error(), "0x80370102") || !strings.Contains(e.Error(), "could not be started") {
		t.Errorf("%v", e)
	}
}
