package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
)

// BenchmarkUserJSON is what GET /users/{user_id} spends turning a held
// user into the answer's bytes: as userJSON does it (the shape encoded
// once, its bytes kept by the union, checked again when the union is
// encoded), and as the generated FromUserHeld would (the shape encoded,
// then the state merged in through maps).
func BenchmarkUserJSON(b *testing.B) {
	at := time.Date(2026, 11, 29, 6, 0, 0, 421337000, time.UTC)
	held := sale.UserState{UserID: "alice", State: sale.Holding, Reservation: &sale.Reservation{
		ID: "3q2-7wAAAAAs9Qx0nE4ybA", UserID: "alice", Status: sale.Held, CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute),
	}}
	encode := func(b *testing.B, u generated.UserState) {
		if _, err := json.Marshal(u); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("userJSON", func(b *testing.B) {
		for b.Loop() {
			u, err := userJSON(held, live.Estimate{})
			if err != nil {
				b.Fatal(err)
			}
			encode(b, u)
		}
	})
	b.Run("generated-FromUserHeld", func(b *testing.B) {
		for b.Loop() {
			var u generated.UserState
			if err := u.FromUserHeld(generated.UserHeld{UserId: held.UserID, Reservation: reservationJSON(*held.Reservation)}); err != nil {
				b.Fatal(err)
			}
			encode(b, u)
		}
	})
}
