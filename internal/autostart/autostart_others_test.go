//go:build !windows && !darwin && !linux

package autostart

import (
	"errors"
	"testing"
)

func TestUnsupported(t *testing.T) {
	if err := Set("x", "y"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Set = %v, want ErrUnsupported", err)
	}
	if _, _, err := Get("x"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Get = %v, want ErrUnsupported", err)
	}
	if err := Delete("x"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Delete = %v, want ErrUnsupported", err)
	}
}
