package agentapi

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const procTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1143 1 0 100 0 0 10 0
   1: 0100007F:A7AA 0100007F:5CF8 06 00000000:00000000 03:00000481 00000000     0        0 0 3 0
   2: 027FA8C0:094F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   3: 027FA8C0:094F 017FA8C0:C350 01 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
`

const procTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:0051 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
`

const procUDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  10: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0
  11: 027FA8C0:D431 017FA8C0:0035 01 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0
`

func TestReadListeners(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Process 42, docker-proxy, holds the socket of 0.0.0.0:2024 (inode 1143).
	if err := os.MkdirAll(filepath.Join(dir, "42", "fd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "42", "comm"), []byte("docker-proxy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("socket:[1143]", filepath.Join(dir, "42", "fd", "3")); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"tcp": procTCP, "tcp6": procTCP6, "udp": procUDP} {
		if err := os.WriteFile(filepath.Join(dir, "net", name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ls, err := ReadListeners(filepath.Join(dir, "net")) // no udp6: skipped
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range ls {
		got = append(got, strings.TrimSpace(l.Proto+" "+l.IP+" "+itoa(l.Port)+" "+l.Process))
	}
	want := []string{
		"tcp ::1 80",
		"tcp 127.0.0.1 81", // v4-mapped, unmapped
		"tcp 0.0.0.0 2024 docker-proxy",
		"tcp 192.168.127.2 2383",
		"tcp :: 8080",
		"udp 0.0.0.0 53",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestParseProcNetRejectsGarbage(t *testing.T) {
	_, err := ParseProcNet(strings.NewReader("header\n 0: zz:1 00000000:0000 0A\n"), "tcp")
	if err == nil {
		t.Fatal("garbage accepted")
	}
}
