package tray

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestSingleInstance(t *testing.T) {
	home, err := os.MkdirTemp("", "bt-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(home)
	shown := make(chan struct{}, 1)
	release, err := ClaimInstance(runtime.GOOS, home, func() { shown <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ClaimInstance(runtime.GOOS, home, func() {}); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second copy: %v", err)
	}
	select {
	case <-shown:
	case <-time.After(5 * time.Second):
		t.Fatal("the first copy was not asked to show itself")
	}
	release()
	release2, err := ClaimInstance(runtime.GOOS, home, func() {})
	if err != nil {
		t.Fatalf("after the first quit: %v", err)
	}
	release2()
}

func TestInstancePath(t *testing.T) {
	if p := instancePath("linux", "/home/u/.berth"); p != filepath.Join("/home/u/.berth", "tray.sock") {
		t.Error(p)
	}
	a, b := instancePath("windows", `C:\Users\A\.berth`), instancePath("windows", `c:\users\a\.berth\`)
	if a != b || !strings.HasPrefix(a, `\\.\pipe\berth-tray-`) {
		t.Errorf("%s %s", a, b)
	}
}
