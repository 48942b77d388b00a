package httpapi

import (
	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/oapi-codegen/nullable"
)

// Times go out in UTC: the same instant reads the same in every answer.

func reservationJSON(r sale.Reservation) generated.Reservation {
	return generated.Reservation{
		ReservationId: r.ID,
		UserId:        r.UserID,
		Status:        generated.ReservationStatus(r.Status),
		CreatedAt:     r.CreatedAt.UTC(),
		ExpiresAt:     r.ExpiresAt.UTC(),
	}
}

func holdJSON(r sale.Reservation) generated.Hold {
	return generated.Hold{
		ReservationId: r.ID,
		UserId:        r.UserID,
		Status:        generated.HoldStatus(r.Status),
		ExpiresAt:     r.ExpiresAt.UTC(),
	}
}

func statusJSON(s sale.Status) generated.Status {
	return generated.Status{
		Initialized:    s.Initialized,
		TotalInventory: s.Total,
		Available:      s.Available,
		Held:           s.Held,
		Confirmed:      s.Confirmed,
		WaitlistSize:   s.Waiting,
	}
}

// userJSON is where a user stands; wait is their estimated wait, read only
// while they are waiting (null when there is no estimate).
func userJSON(u sale.UserState, wait live.Estimate) generated.UserState {
	out := generated.UserState{UserId: u.UserID, State: generated.UserStateState(u.State)}
	if u.State == sale.Waiting {
		pos := u.Position
		out.WaitlistPosition = &pos
		out.EstimatedWaitSeconds = nullable.NewNullNullable[int64]()
		if wait.Known {
			out.EstimatedWaitSeconds.Set(wait.Seconds)
		}
	}
	if u.Reservation != nil {
		r := reservationJSON(*u.Reservation)
		out.Reservation = &r
	}
	return out
}
