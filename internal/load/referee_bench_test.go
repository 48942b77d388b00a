package load

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkRefereeHandler prices one POST /reserve in the referee without
// the network, measured as BenchmarkBaselineHandler is (the sold-out steady
// state: every request a new user joining the line), so that the two and
// the real handler's BenchmarkReserveHandler read side by side. Unlike the
// baseline, each request adds a user to the map and a place to the line:
//
//	go test -run '^$' -bench RefereeHandler -benchmem ./internal/load
func BenchmarkRefereeHandler(b *testing.B) {
	h := NewReferee(testToken)
	req := httptest.NewRequest(http.MethodPost, "/initialize", bytes.NewReader([]byte(`{"total_inventory":1,"reset":true}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("initialize: %d %s", rec.Code, rec.Body)
	}
	body := bytes.NewReader(nil)
	var user []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		user = appendUserID(user[:0], "u", int64(i))
		body.Reset(appendReserveBody(nil, user))
		r := httptest.NewRequest(http.MethodPost, "/reserve", io.NopCloser(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusCreated && w.Code != http.StatusAccepted {
			b.Fatalf("reserve %s: %d %s", user, w.Code, w.Body)
		}
	}
}
