package winpath

import (
	"strings"
	"testing"
)

func TestMntPath(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Users\u\.berth\default\guest.json`: "/mnt/c/Users/u/.berth/default/guest.json",
		`d:/Data/x`:                            "/mnt/d/Data/x",
		`C:\`:                                  "/mnt/c",
		`C:\a\..\b\.\c\`:                       "/mnt/c/b/c",
		`C:\..\..\x`:                           "/mnt/c/x",
		`\\?\C:\Users\u`:                       "/mnt/c/Users/u",
		`E:\with space\ünï`:                    "/mnt/e/with space/ünï",
	} {
		got, err := MntPath(in)
		if err != nil || got != want {
			t.Errorf("MntPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestMntPathRefuses(t *testing.T) {
	for in, says := range map[string]string{
		``:                          "empty",
		`\\server\share\x`:          "UNC",
		`//server/share/x`:          "UNC",
		`\\wsl$\Ubuntu\home`:        "UNC",
		`\\?\UNC\server\share`:      "UNC",
		`\\.\pipe\docker`:           "device",
		`\Users\u`:                  "no drive letter",
		`Users\u`:                   "relative",
		`guest.json`:                "relative",
		`1:\x`:                      "relative",
		`C:`:                        "current folder",
		`C:guest.json`:              "current folder",
		`/mnt/c/Users/u/guest.json`: "no drive letter",
	} {
		got, err := MntPath(in)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("MntPath(%q) = %q, %v; want an error saying %q", in, got, err, says)
		}
	}
}
