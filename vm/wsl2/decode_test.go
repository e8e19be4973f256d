package wsl2

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, ""},
		{"utf8", []byte("Ubuntu\r\nberth-default\r\n"), "Ubuntu\nberth-default\n"},
		{"utf8 with BOM", append([]byte{0xef, 0xbb, 0xbf}, "a\r\n"...), "a\n"},
		{"utf8 non-ASCII", []byte("Выполняется импорт.\r\n"), "Выполняется импорт.\n"},
		{"utf16le", utf16le("Ubuntu\r\nberth-default\r\n"), "Ubuntu\nberth-default\n"},
		{"utf16le with BOM", append([]byte{0xff, 0xfe}, utf16le("a\r\n")...), "a\n"},
		{"utf16le one character", utf16le("x"), "x"},
		// No NUL in it, and not UTF-8: still UTF-16LE.
		{"utf16le CJK only", utf16le("正在导入"), "正在导入"},
		{"utf16le mixed", utf16le("未指定的错误\r\nError code: Wsl/Service/RegisterDistro/E_FAIL\r\n"),
			"未指定的错误\nError code: Wsl/Service/RegisterDistro/E_FAIL\n"},
		{"utf16le with BOM, odd trailing byte", append([]byte{0xff, 0xfe}, append(utf16le("ab"), 'c')...), "ab"},
		{"stray NULs in utf8", []byte("a\x00b\r\n"), "ab\n"},
		{"lone CR", []byte("a\rb"), "a\nb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decode(tc.in); got != tc.want {
				t.Errorf("Decode(% x) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// Every recorded output decodes the same from its UTF-8 and its UTF-16LE
// variant, as wsl.exe with and without WSL_UTF8=1 prints it.
func TestRecordedVariantsAgree(t *testing.T) {
	u8, err := filepath.Glob(filepath.Join("testdata", "*.utf8"))
	if err != nil || len(u8) == 0 {
		t.Fatalf("no recorded outputs: %v", err)
	}
	for _, p := range u8 {
		name := strings.TrimSuffix(filepath.Base(p), ".utf8")
		a, b := recorded(t, name+".utf8"), recorded(t, name+".utf16le")
		if !strings.Contains(string(a), "\r\n") {
			t.Errorf("%s: no CRLF line ends, wsl.exe prints them", p)
		}
		if Decode(a) != Decode(b) || Decode(a) == "" {
			t.Errorf("%s: UTF-8 %q and UTF-16LE %q variants differ", name, Decode(a), Decode(b))
		}
	}
}

func recorded(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
