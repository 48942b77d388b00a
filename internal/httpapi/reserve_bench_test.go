package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/testkit"
)

// BenchmarkReserveHandler prices one POST /reserve in the whole HTTP stack
// over the memory store without the network, every middleware on and the
// rate limiter too generous to trigger, in the sold-out steady state of a
// flash sale (every request joins the line), so that allocations per
// request and a CPU profile show where its time goes; with a new
// Idempotency-Key each, it says what a key costs:
//
//	go test -run '^$' -bench ReserveHandler -benchmem ./internal/httpapi
//	go test -run '^$' -bench 'ReserveHandler/without' -cpuprofile cpu.out ./internal/httpapi
//
// The bare handler it is compared with over the network (flashsale-load
// wrk) has its own benchmark, measured the same way, in the load tool:
// go test -run '^$' -bench BaselineHandler -benchmem ./internal/load.
func BenchmarkReserveHandler(b *testing.B) {
	for _, keyed := range []bool{false, true} {
		name := "without key"
		if keyed {
			name = "with key"
		}
		b.Run(name, func(b *testing.B) {
			h := testkit.Start(b, testkit.Options{API: httpapi.Config{RateLimit: 1e6, RateBurst: 1e6}}).Server().API
			req := httptest.NewRequest(http.MethodPost, "/initialize", bytes.NewReader([]byte(`{"total_inventory":1,"reset":true}`)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testkit.AdminToken)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("initialize: %d %s", rec.Code, rec.Body)
			}
			body := bytes.NewReader(nil)
			var user, key []byte
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				user = strconv.AppendInt(append(user[:0], 'u'), int64(i), 10)
				// A fresh body each time, as BenchmarkBaselineHandler makes
				// it, so that the two count the same allocations around the
				// handler.
				body.Reset(append(append([]byte(`{"user_id":"`), user...), `"}`...))
				r := httptest.NewRequest(http.MethodPost, "/reserve", io.NopCloser(body))
				r.Header.Set("Content-Type", "application/json")
				if keyed {
					key = strconv.AppendInt(append(key[:0], "key-"...), int64(i), 10)
					r.Header.Set("Idempotency-Key", string(key))
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusCreated && w.Code != http.StatusAccepted {
					b.Fatalf("reserve %s: %d %s", user, w.Code, w.Body)
				}
			}
		})
	}
}
