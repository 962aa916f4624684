package gateway

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRefusedTokensRemembered: an opaque token the issuer's introspection
// refused is refused again without asking it for oauthRefusedCacheTime; a
// failure to reach the introspection endpoint is not remembered.
func TestRefusedTokensRemembered(t *testing.T) {
	var asked atomic.Int32
	var failing atomic.Bool
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/introspect" {
			_, _ = w.Write([]byte(`{"issuer":"` + srv.URL + `","introspection_endpoint":"` + srv.URL + `/introspect"}`))
			return
		}
		asked.Add(1)
		if failing.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"active":false}`))
	}))
	t.Cleanup(srv.Close)
	o := testOAuth(t, srv.URL)
	clock := time.Now()
	o.refused.now = func() time.Time { return clock }
	introspect := func(token string) error {
		t.Helper()
		_, err := o.introspect(t.Context(), token)
		if err == nil {
			t.Fatalf("token %q accepted, want refused", token)
		}
		return err
	}

	for range 3 {
		if err := introspect("revoked"); !strings.Contains(err.Error(), "not active") {
			t.Fatalf("err %v, want not active", err)
		}
	}
	if n := asked.Load(); n != 1 {
		t.Fatalf("the issuer was asked %d times for 3 tries of one refused token, want 1", n)
	}
	clock = clock.Add(oauthRefusedCacheTime)
	introspect("revoked")
	if n := asked.Load(); n != 2 {
		t.Fatalf("asked %d times once the refusal is %s old, want 2 (asked again)", n, oauthRefusedCacheTime)
	}

	failing.Store(true)
	for range 2 {
		if err := introspect("maybe-good"); !errors.Is(err, errIssuerDown) {
			t.Fatalf("err %v, want the issuer unreachable", err)
		}
	}
	if n := asked.Load(); n != 4 {
		t.Fatalf("asked %d times, want 4: a failure to reach the issuer is not remembered", n)
	}
}
