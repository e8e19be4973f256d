package wsl2

import (
	"bytes"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Decode turns what wsl.exe printed into text with "\n" line ends.
//
// wsl.exe writes UTF-16LE unless WSL_UTF8=1 is in its environment, and
// versions before that variable existed (and the inbox wsl.exe of older
// Windows) write UTF-16LE whatever it says; some write a byte-order mark.
// So every call asks for UTF-8 and every output is still sniffed: a UTF-16LE
// BOM, a NUL byte (UTF-8 text from wsl.exe has none, UTF-16LE text with any
// ASCII in it has one in every ASCII character), or bytes that are not UTF-8
// mean UTF-16LE. NULs left over and carriage returns are dropped.
func Decode(b []byte) string {
	var s string
	switch {
	case bytes.HasPrefix(b, []byte{0xff, 0xfe}):
		s = decodeUTF16LE(b[2:])
	case bytes.HasPrefix(b, []byte{0xef, 0xbb, 0xbf}):
		s = string(b[3:])
	case looksUTF16LE(b):
		s = decodeUTF16LE(b)
	default:
		s = string(b)
	}
	s = strings.ReplaceAll(s, "\x00", "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// looksUTF16LE reports whether b is UTF-16LE without a BOM: it has NULs
// mostly in odd places (the high byte of ASCII characters), or it is not
// UTF-8; either way whole 16-bit units, or not UTF-8 at all.
func looksUTF16LE(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	var odd, even int
	for i, c := range b {
		if c != 0 {
			continue
		}
		if i%2 == 1 {
			odd++
		} else {
			even++
		}
	}
	whole := len(b)%2 == 0 || !utf8.Valid(b)
	if odd+even > 0 {
		return odd > even && whole
	}
	return !utf8.Valid(b) && len(b)%2 == 0
}

// decodeUTF16LE decodes little-endian UTF-16; a trailing odd byte is dropped.
func decodeUTF16LE(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// lines splits decoded output into its non-empty lines, trimmed.
func lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
