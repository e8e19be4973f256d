package plist

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	d := Dict{
		"Label":            "dev.berth.tray",
		"ProgramArguments": []string{"/Applications/Berth App/berth-tray", "--minimized", `a<b>&"c'`},
		"RunAtLoad":        true,
		"KeepAlive":        false,
		"Nice":             -5,
		"Empty":            []string{},
	}
	b, err := Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	// Well-formed XML, by a parser that knows nothing of plists.
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := dec.Token(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("not well-formed: %v\n%s", err, b)
			}
			break
		}
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	d["Empty"] = []string(nil) // an empty array reads back as nil
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, d)
	}
	if !strings.Contains(string(b), "<!DOCTYPE plist PUBLIC") || !strings.Contains(string(b), "<key>KeepAlive</key>\n\t<false/>") {
		t.Errorf("unexpected layout:\n%s", b)
	}
}

func TestMarshalRefuses(t *testing.T) {
	if _, err := Marshal(Dict{"F": 1.5}); err == nil || !strings.Contains(err.Error(), `"F"`) {
		t.Fatalf("a float: %v, want an error naming the key", err)
	}
}

// An entitlements file as Xcode and Lima write it, and a launchd agent a
// user extended with kinds this package does not keep.
func TestUnmarshalForeign(t *testing.T) {
	in := `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>com.apple.security.virtualization</key>
	<true/>
	<key>EnvironmentVariables</key>
	<dict>
		<key>PATH</key>
		<string>/usr/bin</string>
	</dict>
	<key>Mixed</key>
	<array><string>a</string><integer>1</integer></array>
	<key>Stamp</key>
	<date>2026-12-06T20:00:00Z</date>
	<key>Label</key>
	<string> spaced &amp; escaped </string>
	<key>Retries</key>
	<integer> 3 </integer>
</dict>
</plist>
`
	got, err := Unmarshal([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Dict{"com.apple.security.virtualization": true, "Label": " spaced & escaped ", "Retries": 3}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}

func TestUnmarshalBroken(t *testing.T) {
	for name, in := range map[string]string{
		"empty":             "",
		"not a plist":       "<html></html>",
		"array at top":      `<plist version="1.0"><array/></plist>`,
		"cut":               `<plist version="1.0"><dict><key>A</key><string>x</string>`,
		"key without value": `<plist version="1.0"><dict><key>A</key></dict></plist>`,
		"value no key":      `<plist version="1.0"><dict><string>x</string></dict></plist>`,
		"bad integer":       `<plist version="1.0"><dict><key>N</key><integer>x</integer></dict></plist>`,
		"not XML":           `<plist version="1.0"><dict><key>A</key><string>x</dict></plist>`,
	} {
		if d, err := Unmarshal([]byte(in)); err == nil {
			t.Errorf("%s: Unmarshal = %#v, want an error", name, d)
		}
	}
}
