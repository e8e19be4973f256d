package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

func TestOffersSetup(t *testing.T) {
	for _, c := range []struct {
		goos, berth string
		want        bool
	}{
		{"darwin", "/Applications/Berth.app/Contents/MacOS/berth", true},
		{"darwin", "/usr/local/bin/berth", false},
		{"linux", "/opt/Berth.app/Contents/MacOS/berth", false},
		{"windows", `C:\Users\u\AppData\Local\Programs\Berth\bin\berth.exe`, false},
	} {
		if got := offersSetup(c.goos, c.berth); got != c.want {
			t.Errorf("offersSetup(%s, %s) = %v", c.goos, c.berth, got)
		}
	}
}

type fakeUI struct {
	yes   bool
	asked int
	ran   [][]string
}

func (f *fakeUI) Confirm(string, string, string) bool { f.asked++; return f.yes }
func (f *fakeUI) Run(_ context.Context, argv []string) (string, error) {
	f.ran = append(f.ran, argv)
	return "link ...", nil
}
func (f *fakeUI) Notify(string, string, string, func()) {}

func TestOfferSetupOnce(t *testing.T) {
	home := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ui := &fakeUI{yes: true}
	offerSetup(context.Background(), home, "/A/berth", ui, log)
	offerSetup(context.Background(), home, "/A/berth", ui, log)
	if ui.asked != 1 || len(ui.ran) != 1 || !slices.Equal(ui.ran[0], []string{"/A/berth", "install"}) {
		t.Errorf("asked %d times, ran %v", ui.asked, ui.ran)
	}
	if fi, err := os.Stat(filepath.Join(home, setupOfferedFile)); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("marker: %v %v", fi, err)
	}
	no := &fakeUI{}
	offerSetup(context.Background(), t.TempDir(), "/A/berth", no, log)
	if no.asked != 1 || len(no.ran) != 0 {
		t.Errorf("declined: asked %d, ran %v", no.asked, no.ran)
	}
}
