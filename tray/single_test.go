package tray

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/store"
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
	if p, err := store.TrayEndpoint("linux", "/home/u/.berth"); err != nil || p != filepath.Join("/home/u/.berth", "tray.sock") {
		t.Error(p, err)
	}
	const sid = "S-1-5-21-1-2-3-1001"
	a, b := store.TrayPipe(`C:\Users\A\.berth`, sid), store.TrayPipe(`c:\users\a\.berth\`, sid)
	if a != b || !strings.HasPrefix(a, `\\.\pipe\berth-`+sid+`-tray-`) {
		t.Errorf("%s %s", a, b)
	}
}
