package agentapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// shareBackend records the mounts and unmounts it is asked for.
type shareBackend struct {
	fakeBackend
	calls []string
	fail  error
}

func (b *shareBackend) UnmountShares() error { b.calls = append(b.calls, "unmount"); return b.fail }

func (b *shareBackend) MountShares(context.Context) error {
	b.calls = append(b.calls, "mount")
	return b.fail
}

func TestSharesMountedAndUnmounted(t *testing.T) {
	b := &shareBackend{}
	c := serve(t, b)
	if err := c.SetSharesMounted(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSharesMounted(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.calls, ","); got != "unmount,mount" {
		t.Errorf("calls %q, want unmount,mount", got)
	}
	b.fail = errors.New("shared folder /src (tag berth0) not mounted: no such device")
	if err := c.SetSharesMounted(t.Context(), true); err == nil || !strings.Contains(err.Error(), "tag berth0") {
		t.Errorf("a share that does not mount: %v", err)
	}
}

func TestSharesRequestRefused(t *testing.T) {
	h := NewHandler(&shareBackend{})
	for _, body := range []string{"", "{", `{"mounted":"yes"}`, `{"mounted":true,"path":"/etc"}`} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, PathShares, strings.NewReader(body)))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "mounted") {
			t.Errorf("body %q: %d %s", body, rec.Code, rec.Body)
		}
	}
	// A guest without the ability says so.
	rec := httptest.NewRecorder()
	NewHandler(&fakeBackend{}).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, PathShares, strings.NewReader(`{"mounted":true}`)))
	if rec.Code != http.StatusNotImplemented {
		t.Errorf("a backend without shares: %d", rec.Code)
	}
}
