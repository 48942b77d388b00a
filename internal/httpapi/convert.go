package httpapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

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
	out := generated.Status{
		Initialized:    s.Initialized,
		TotalInventory: s.Total,
		Available:      s.Available,
		Held:           s.Held,
		Confirmed:      s.Confirmed,
		WaitlistSize:   s.Waiting,
		Phase:          generated.StatusPhase(s.Phase),
		PrequeueSize:   s.Prequeued,
		OpensAt:        timeOrNil(s.OpensAt),
		ClosesAt:       timeOrNil(s.ClosesAt),
		DrawCommitment: stringOrNil(s.DrawCommitment),
		DrawSeed:       stringOrNil(s.DrawSeed),
	}
	return out
}

// encodeUnion sets a generated union to shape, a member that carries its
// own discriminator.
func encodeUnion(union json.Unmarshaler, shape any) error {
	b, err := json.Marshal(shape)
	if err != nil {
		return fmt.Errorf("encode %T: %w", shape, err)
	}
	return union.UnmarshalJSON(b)
}

// timeOrNil is an optional time: nil for the zero time.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// instantOf is an optional time of a request as the sale keeps it.
func instantOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return sale.Instant(*t)
}

func stringOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
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
	case sale.Queued:
		return generated.UserQueued{
			UserId: u.UserID, State: generated.UserQueuedStateQueued,
			OpensAt: u.OpensAt.UTC(), DrawCommitment: u.DrawCommitment,
		}, nil
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
	return out, encodeUnion(&out, shape)
}

// entrantList is the draw's entrants, one user id a line, written as they
// are rather than built into one string first: a draw may have a million.
type entrantList []string

func (l entrantList) VisitGetDrawEntrantsResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	for _, id := range l {
		bw.WriteString(id)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// appendAccepted appends the 202 body of a reserve that gave r: a place in
// line (Waitlisted) or in the pre-queue (Queued).
func appendAccepted(buf []byte, user string, r sale.ReserveResult, token *string) ([]byte, error) {
	if r.Queued {
		msg := "In the pre-queue; places are drawn at the opening"
		if r.AlreadyWaiting {
			msg = "Already in the pre-queue; places are drawn at the opening"
		}
		return appendQueued(buf, generated.Queued{
			Status: generated.QueuedStatusQueued, Message: msg, UserId: user,
			OpensAt: r.OpensAt.UTC(), DrawCommitment: r.DrawCommitment, ShopperToken: token,
		})
	}
	msg := "Added to waitlist"
	if r.AlreadyWaiting {
		msg = "Already in waitlist"
	}
	return appendWaitlisted(buf, generated.Waitlisted{
		Status: generated.WaitlistedStatusWaiting, Message: msg, WaitlistPosition: r.Position, UserId: user, ShopperToken: token,
	})
}
