package qemu

import "testing"

func TestIsRustVirtiofsd(t *testing.T) {
	c := "usage: /usr/lib/qemu/virtiofsd [options]\n    -o cache=<mode>            cache mode\n    --socket-path=PATH\n"
	rust := "Usage: virtiofsd --shared-dir <SHARED_DIR> --socket-path <SOCKET_PATH> [OPTIONS]\n"
	if isRustVirtiofsd(c) || !isRustVirtiofsd(rust) || isRustVirtiofsd("") {
		t.Error("wrong kind")
	}
}
