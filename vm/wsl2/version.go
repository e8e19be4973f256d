package wsl2

import (
	"context"
	"strings"
	"unicode/utf8"
)

// Version is what `wsl --version` tells (the Store WSL; the wsl.exe built
// into older Windows does not know the option and fails).
type Version struct {
	// WSL, Kernel, WSLg and Windows versions, empty when not printed.
	WSL, Kernel, WSLg, Windows string
	// Text is the whole output, for diagnostics.
	Text string
}

// Version runs `wsl --version`.
func (c *Client) Version(ctx context.Context) (Version, error) {
	text, err := c.call(ctx, "--version")
	if err != nil {
		return Version{Text: text}, err
	}
	return ParseVersion(text), nil
}

// ParseVersion reads decoded `wsl --version` output. Its labels are
// translated, so only the lines' order (MessagePackageVersions in the WSL
// sources: WSL, kernel, WSLg, MSRDC, Direct3D, DXCore, Windows) and the
// value after each colon are read.
func ParseVersion(text string) Version {
	v := Version{Text: text}
	fields := []*string{&v.WSL, &v.Kernel, &v.WSLg, nil, nil, nil, &v.Windows}
	for i, l := range lines(text) {
		if i < len(fields) && fields[i] != nil {
			*fields[i] = valueAfterColon(l)
		}
	}
	return v
}

// valueAfterColon is the text after a line's last colon, ASCII or
// full-width (as in the Chinese translation).
func valueAfterColon(l string) string {
	i := strings.LastIndexAny(l, ":：")
	if i < 0 {
		return ""
	}
	_, size := utf8.DecodeRuneInString(l[i:])
	return strings.TrimSpace(l[i+size:])
}
