package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

// BenchmarkReserveHandler is the whole stack's cost of one POST /reserve,
// without the network: routing, validation, rate limiting (on, never
// triggered), the store, encoding, metrics. Profile it with
//
//	go test ./internal/httpapi -run '^$' -bench ReserveHandler -cpuprofile cpu.out
func BenchmarkReserveHandler(b *testing.B) {
	for _, c := range []struct {
		name  string
		stock int64
	}{{"held", sale.MaxInventory}, {"waitlisted", 0}} {
		b.Run(c.name, func(b *testing.B) {
			st, err := store.New(sale.Config{})
			if err != nil {
				b.Fatal(err)
			}
			h, err := httpapi.New(httpapi.Config{Store: st, AdminToken: "t", RateLimit: 1e6, RateBurst: 1e6})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.Initialize(b.Context(), c.stock, false); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					body := `{"user_id":"u` + strconv.FormatInt(n.Add(1), 10) + `"}`
					req := httptest.NewRequest(http.MethodPost, "/reserve", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != 201 && w.Code != 202 {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}
