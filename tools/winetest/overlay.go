package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Go 1.26's os.RemoveAll deletes files through NtSetInformationFile with
// FileDispositionInformationEx and falls back to the classic
// FileDispositionInformation only for a few status codes; Wine 8 answers
// with another one ("Invalid function"), so every t.TempDir cleanup fails
// under Wine. The test binaries are therefore built with an overlay that
// makes the standard library take its fallback, the path Windows itself
// takes on file systems without POSIX delete semantics (FAT32). Nothing
// else in the standard library changes.
const (
	deleteatFile = "src/internal/syscall/windows/at_windows.go"
	deleteatFrom = "\nvar TestDeleteatFallback bool\n"
	deleteatTo   = "\nvar TestDeleteatFallback = true // patched by tools/winetest for Wine\n"
)

// writeOverlay writes the patched file and an overlay file for -overlay
// into work, and returns the overlay file's path.
func writeOverlay(ctx context.Context, work string) (string, error) {
	out, err := goCmd(ctx, "", nil, "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %w", err)
	}
	orig := filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(deleteatFile))
	b, err := os.ReadFile(orig)
	if err != nil {
		return "", err
	}
	patched, err := patchDeleteat(b)
	if err != nil {
		return "", fmt.Errorf("%s: %w", orig, err)
	}
	repl := filepath.Join(work, "at_windows.go")
	if err := os.WriteFile(repl, patched, 0o644); err != nil {
		return "", err
	}
	j, err := json.Marshal(map[string]map[string]string{"Replace": {orig: repl}})
	if err != nil {
		return "", err
	}
	overlay := filepath.Join(work, "overlay.json")
	return overlay, os.WriteFile(overlay, j, 0o644)
}

// patchDeleteat turns the fallback on. It fails, rather than run tests
// that would fail for Wine's sake, if the Go release no longer has the
// switch: then this workaround needs a look (or Wine no longer needs it).
func patchDeleteat(src []byte) ([]byte, error) {
	if n := bytes.Count(src, []byte(deleteatFrom)); n != 1 {
		return nil, fmt.Errorf("found %q %d times, want once: review the Wine workaround in tools/winetest/overlay.go", strings.TrimSpace(deleteatFrom), n)
	}
	return bytes.Replace(src, []byte(deleteatFrom), []byte(deleteatTo), 1), nil
}
