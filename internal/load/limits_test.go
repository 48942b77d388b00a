package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// The largest inventory comes from the API document, as the real server's
// does.
func TestMaxInventoryFromTheDocument(t *testing.T) {
	most, err := maxInventory()
	if err != nil || most != 1_000_000_000 {
		t.Fatalf("maxInventory() = %d, %v; want the document's 1000000000", most, err)
	}
}

// baselineDo sends one request to a fresh baseline and returns the answer.
func baselineDo(t *testing.T, b *Baseline, method, path string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+testToken)
	w := httptest.NewRecorder()
	b.ServeHTTP(w, r)
	return w
}

// The baseline keeps the API's limits: the inventory's bounds, the body's
// size, and a hold of five minutes.
func TestBaselineKeepsTheLimits(t *testing.T) {
	b := NewBaseline(testToken)
	for total, want := range map[int64]int{1_000_000_000: http.StatusOK, 1_000_000_001: http.StatusBadRequest, -1: http.StatusBadRequest} {
		w := baselineDo(t, b, http.MethodPost, "/initialize", fmt.Appendf(nil, `{"total_inventory":%d,"reset":true}`, total))
		if w.Code != want {
			t.Errorf("initialize %d units: %d %s, want %d", total, w.Code, w.Body, want)
		}
	}
	baselineDo(t, b, http.MethodPost, "/initialize", []byte(`{"total_inventory":5,"reset":true}`))

	// {"user_id":"a"} padded inside with spaces to the limit is read; one
	// byte more is refused.
	body := func(size int) []byte {
		const head, tail = `{"user_id":`, `"a"}`
		return slices.Concat([]byte(head), bytes.Repeat([]byte(" "), size-len(head)-len(tail)), []byte(tail))
	}
	if w := baselineDo(t, b, http.MethodPost, "/reserve", body(maxBody)); w.Code != http.StatusCreated {
		t.Errorf("a body of %d bytes: %d %s, want 201", maxBody, w.Code, w.Body)
	} else {
		var h generated.Hold
		if err := json.Unmarshal(w.Body.Bytes(), &h); err != nil {
			t.Fatal(err)
		}
		if d := time.Until(h.ExpiresAt); d < holdTTL-time.Minute || d > holdTTL {
			t.Errorf("the hold expires in %s, want about %s", d, holdTTL)
		}
	}
	if w := baselineDo(t, b, http.MethodPost, "/reserve", body(maxBody+1)); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "user_id") {
		t.Errorf("a body of %d bytes: %d %s, want 400", maxBody+1, w.Code, w.Body)
	}
}
