package httpapi

import (
	"encoding/json"
	"fmt"

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

// userShape is where a user stands, as the one of UserState's shapes that
// its state has: UserNone, UserWaiting (wait is the estimated wait, null
// when there is none), UserHeld or UserConfirmed. The conformance suite
// holds every store to a Reservation with held and confirmed; a state
// without one is a store's bug, and an error here.
func userShape(u sale.UserState, wait live.Estimate) (any, error) {
	switch u.State {
	case sale.None:
		out := generated.UserNone{UserId: u.UserID, State: generated.UserNoneStateNone}
		if u.Reservation != nil {
			r := reservationJSON(*u.Reservation)
			out.Reservation = &r
		}
		return out, nil
	case sale.Waiting:
		out := generated.UserWaiting{
			UserId: u.UserID, State: generated.UserWaitingStateWaiting,
			WaitlistPosition:     u.Position,
			EstimatedWaitSeconds: nullable.NewNullNullable[int64](),
		}
		if wait.Known {
			out.EstimatedWaitSeconds.Set(wait.Seconds)
		}
		return out, nil
	case sale.Holding, sale.Bought:
		if u.Reservation == nil {
			return nil, fmt.Errorf("user %s is %s with no reservation", u.UserID, u.State)
		}
		if u.State == sale.Holding {
			return generated.UserHeld{UserId: u.UserID, State: generated.UserHeldStateHeld, Reservation: reservationJSON(*u.Reservation)}, nil
		}
		return generated.UserConfirmed{UserId: u.UserID, State: generated.UserConfirmedStateConfirmed, Reservation: reservationJSON(*u.Reservation)}, nil
	}
	return nil, fmt.Errorf("user %s is in an unknown state %q", u.UserID, u.State)
}

// userJSON is userShape in the generated union, for GetUser's typed
// answer. The shape already carries its state, so it is encoded once and
// kept as it is (the generated FromUserWaiting and the like would encode
// it again to merge the state in through maps).
func userJSON(u sale.UserState, wait live.Estimate) (generated.UserState, error) {
	var out generated.UserState
	shape, err := userShape(u, wait)
	if err != nil {
		return out, err
	}
	b, err := json.Marshal(shape)
	if err != nil {
		return out, fmt.Errorf("encode user %s: %w", u.UserID, err)
	}
	return out, out.UnmarshalJSON(b)
}
