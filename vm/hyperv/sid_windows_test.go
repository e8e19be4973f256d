package hyperv

import (
	"testing"

	"github.com/Microsoft/go-winio"
)

func TestCurrentUserSID(t *testing.T) {
	sid, err := currentUserSID()
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidSID(sid); err != nil {
		t.Fatal(err)
	}
}

// TestVsockServiceIDIsWinio: the document's service id of the link port is
// the one go-winio dials.
func TestVsockServiceIDIsWinio(t *testing.T) {
	for _, port := range []uint32{LinkPort, 1, 1 << 30} {
		if got, want := VsockServiceID(port), winio.VsockServiceID(port).String(); got != want {
			t.Errorf("port %d: %s, go-winio dials %s", port, got, want)
		}
	}
}
