package hostinfo

import "testing"

func TestHostFigures(t *testing.T) {
	if CPUs() < 1 {
		t.Fatal("no CPUs")
	}
	// Every machine this runs on has more than 256 MiB and less than 64 TiB.
	if m := MemoryMiB(); m < 256 || m > 64<<20 {
		t.Fatalf("MemoryMiB() = %d", m)
	}
}

func TestDiskFree(t *testing.T) {
	dir := t.TempDir()
	free, err := DiskFree(dir)
	if err != nil || free == 0 {
		t.Fatalf("DiskFree(%s) = %d, %v", dir, free, err)
	}
	if _, err := DiskFree(dir + "/missing"); err == nil {
		t.Error("DiskFree of a missing directory: no error")
	}
}
