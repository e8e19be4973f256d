package autostart

import (
	"fmt"
	"os"
	"testing"
)

func TestSetGetDelete(t *testing.T) {
	name := fmt.Sprintf("BerthTest-%d", os.Getpid())
	t.Cleanup(func() { _ = Delete(name) })
	if _, ok, err := Get(name); err != nil || ok {
		t.Fatalf("Get before Set = ok %v, err %v", ok, err)
	}
	cmd := `"C:\Program Files\Berth\berth-tray.exe" --minimized`
	if err := Set(name, cmd); err != nil {
		t.Fatal(err)
	}
	got, ok, err := Get(name)
	if err != nil || !ok || got != cmd {
		t.Fatalf("Get = %q, %v, %v; want %q", got, ok, err, cmd)
	}
	if err := Set(name, cmd+" --quiet"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := Get(name); got != cmd+" --quiet" {
		t.Fatalf("Set did not replace: %q", got)
	}
	if err := Delete(name); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := Get(name); err != nil || ok {
		t.Fatalf("Get after Delete = ok %v, err %v", ok, err)
	}
	if err := Delete(name); err != nil {
		t.Fatalf("Delete of a missing entry: %v", err)
	}
}
