package winpath

import (
	"path"
	"strings"
	"testing"
)

// FuzzMntPath: any string is refused with an error naming it, or mapped to
// a clean path under /mnt/<lower-case drive> that no "..", backslash or
// doubled slash can lead out of; the Windows form of the result maps back
// to it.
func FuzzMntPath(f *testing.F) {
	for _, s := range []string{
		`C:\Users\u\.berth\default\guest.json`, `d:/Data/x`, `C:\`, `C:\a\..\b\.\c\`, `C:\..\..\x`,
		`\\?\C:\Users\u`, `E:\with space\ünï`, `\\server\share\x`, `\\?\UNC\server\share`, `\\.\pipe\docker`,
		`\Users\u`, `C:`, `C:guest.json`, `/mnt/c/x`, `//?/c:/x`, "C:\\x\x00y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got, err := MntPath(p)
		if err != nil {
			if got != "" || !strings.HasPrefix(err.Error(), "windows path") {
				t.Fatalf("MntPath(%q) = %q, %v: an error must give no path and say what is wrong", p, got, err)
			}
			return
		}
		if len(got) < 6 || !strings.HasPrefix(got, "/mnt/") || got[5] < 'a' || got[5] > 'z' || len(got) > 6 && got[6] != '/' {
			t.Fatalf("MntPath(%q) = %q: not under /mnt/<drive>", p, got)
		}
		if path.Clean(got) != got || strings.Contains(got, `\`) {
			t.Fatalf("MntPath(%q) = %q: not a clean Linux path", p, got)
		}
		back := strings.ToUpper(got[5:6]) + `:\` + strings.ReplaceAll(strings.TrimPrefix(got[6:], "/"), "/", `\`)
		if again, err := MntPath(back); err != nil || again != got {
			t.Fatalf("MntPath(%q) = %q, but MntPath(%q) = %q, %v", p, got, back, again, err)
		}
	})
}
