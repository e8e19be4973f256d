package wsl2

import "testing"

func TestParseVersion(t *testing.T) {
	v := ParseVersion(Decode(recorded(t, "version.utf16le")))
	want := Version{WSL: "1.1.2.0", Kernel: "5.15.83.1", WSLg: "1.0.49", Windows: "10.0.22621.1265"}
	want.Text = v.Text
	if v != want {
		t.Errorf("got %+v, want %+v", v, want)
	}
	// Labels are translated; the Chinese one ends in a full-width colon.
	v = ParseVersion("WSL 版本： 2.1.1.0\n内核版本： 5.15.146.1-2\n")
	if v.WSL != "2.1.1.0" || v.Kernel != "5.15.146.1-2" {
		t.Errorf("translated: got %+v", v)
	}
}
