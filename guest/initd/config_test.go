package initd

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
)

func TestReadConfigRoundTrip(t *testing.T) {
	want := guestconfig.Default()
	want.Engine.DaemonJSON = []byte(`{"debug":true}`)
	b, err := jsonMarshal(want)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, warning, err := ReadConfig(path)
	if err != nil || warning != "" {
		t.Fatalf("ReadConfig: %v (warning %q)", err, warning)
	}
	if got.Hostname != want.Hostname || !reflect.DeepEqual(got.Network, want.Network) || time.Duration(got.Engine.StopTimeout) != 10*time.Second {
		t.Fatalf("got %+v", got)
	}
}

func TestParseConfigUnknownKeyWarns(t *testing.T) {
	b, _ := jsonMarshal(guestconfig.Default())
	b = []byte(strings.Replace(string(b), `{`, `{"futureKey":1,`, 1))
	_, warning, err := ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warning, "futureKey") {
		t.Fatalf("warning = %q, want it to name the unknown key", warning)
	}
}

func TestParseConfigInvalid(t *testing.T) {
	c := guestconfig.Default()
	c.Hostname = ""
	c.Network.Address = "nope"
	b, _ := jsonMarshal(c)
	_, _, err := ParseConfig(b)
	if err == nil || !strings.Contains(err.Error(), "hostname") || !strings.Contains(err.Error(), "network.address") {
		t.Fatalf("err = %v, want every problem named", err)
	}
	if _, _, err := ParseConfig([]byte("{")); err == nil {
		t.Fatal("truncated JSON accepted")
	}
}

func TestParseConfigReservedDaemonKey(t *testing.T) {
	c := guestconfig.Default()
	c.Engine.DaemonJSON = []byte(`{"data-root":"/elsewhere","debug":true}`)
	b, _ := jsonMarshal(c)
	if _, _, err := ParseConfig(b); err == nil || !strings.Contains(err.Error(), `"data-root"`) {
		t.Fatalf("err = %v, want data-root rejected", err)
	}
}
