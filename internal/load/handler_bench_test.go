package load

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store/memory"
)

// BenchmarkReserveHandler prices one POST /reserve in each handler without
// the network, in the sold-out steady state of a flash sale (every request
// joins the line), so that allocations per request and a CPU profile
// (go test -bench ReserveHandler -cpuprofile cpu.out ./internal/load) show
// where the full stack's time goes beyond the baseline's:
//
//	go test -run '^$' -bench ReserveHandler -benchmem ./internal/load
func BenchmarkReserveHandler(b *testing.B) {
	b.Run("baseline", func(b *testing.B) { benchReserve(b, NewBaseline(testToken)) })
	b.Run("flashsale", func(b *testing.B) {
		st, err := memory.New(sale.Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		hub, err := live.Start(live.Config{Store: st})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(hub.Close)
		h, err := httpapi.New(httpapi.Config{Store: st, Live: hub, AdminToken: testToken, RateLimit: 1e6, RateBurst: 1e6, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		benchReserve(b, h)
	})
}

func benchReserve(b *testing.B, h http.Handler) {
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
	b.ResetTimer()
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
