package load

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkBaselineHandler prices one POST /reserve in the baseline handler
// without the network, in the sold-out steady state of a flash sale (every
// request joins the line): the least a server must spend on it. The real
// handler's benchmark, BenchmarkReserveHandler, is beside it in
// internal/httpapi, measured the same way:
//
//	go test -run '^$' -bench 'BaselineHandler|RefereeHandler' -benchmem ./internal/load
func BenchmarkBaselineHandler(b *testing.B) { benchmarkReserve(b, NewBaseline(testToken)) }

// BenchmarkRefereeHandler is the same for the referee. Unlike the baseline,
// each request adds a user to the map and a place to the line: what
// keeping real books costs.
func BenchmarkRefereeHandler(b *testing.B) { benchmarkReserve(b, NewReferee(testToken)) }

// benchmarkReserve sells h's one unit, then times new users joining its
// line, one POST /reserve each.
func benchmarkReserve(b *testing.B, h http.Handler) {
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
