package model

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Kind names an operation in a history.
type Kind uint8

const (
	OpInitialize Kind = iota
	OpReserve
	OpConfirm
	OpCancel
	OpReservation
	OpUser
	OpLeave
	OpStatus
	OpExpire
	// OpClock is the test moving the fake clock to Input.Now. Recording it
	// as an operation is what makes time part of the history: a store call
	// that overlaps it may have read either time, and the checker tries both.
	OpClock
	// OpEntrants reads the draw's entrants (sale.Store.Entrants).
	OpEntrants
)

var kindNames = [...]string{"initialize", "reserve", "confirm", "cancel", "reservation", "user", "leave", "status", "expire", "clock", "entrants"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Input is one call: the operation and its arguments.
type Input struct {
	Kind  Kind
	User  string    // reserve, user, leave
	ID    string    // confirm, cancel, reservation
	Total int64     // initialize
	Reset bool      // initialize
	Now   time.Time // clock
	// OpensAt and ClosesAt are an initialize's window (sale.Call.Window):
	// zero for none.
	OpensAt, ClosesAt time.Time
	// Claim: a reserve by a caller who proves nobody, made only for a user
	// new to the sale (sale.Call.Claim).
	Claim bool
	// For is whom a confirm or cancel is made for ("" for the operator):
	// another user's reservation is not found (sale.Call.UserID).
	For string
	// Key is the idempotency key of an initialize, reserve, confirm or
	// cancel ("" for none): a keyed retry is the same operation answered
	// again, not a new one.
	Key string
}

// PhaseUnsaid is the Phase of a user's state whose answer does not say the
// sale's phase (the HTTP user bodies do not): not a phase the model checks.
const PhaseUnsaid sale.Phase = "(unsaid)"

// errOther is the kind of an error that is none of the sale's: never what
// the model expects.
const errOther sale.Kind = "other"

// Output is one call's answer, in a form both a store and the model produce.
// Fields an answer does not carry stay zero.
type Output struct {
	Err    sale.Kind // "" when the call succeeded
	Detail string    // the error text, for people reading a failed history

	// Reservation is the hold a call answered with: a new or conflicting
	// hold from reserve, the result of confirm, cancel and reservation (also
	// in a conflict), a user's current or last hold. An empty UserID or a
	// zero CreatedAt or ExpiresAt means the answer did not carry it (the
	// HTTP 201 body has no created_at, a 409 problem names only the
	// reservation's id and status), not that it was empty.
	Reservation    *sale.Reservation
	Position       int64
	AlreadyWaiting bool
	// Queued: a reserve's place in the pre-queue, with the draw it waits
	// for (OpensAt, DrawCommitment), which a queued user's state also
	// shows.
	Queued         bool
	OpensAt        time.Time
	DrawCommitment string
	State          sale.UserStateKind
	Phase          sale.Phase // a user's state: the sale's phase, or PhaseUnsaid
	Status         sale.Status
	Taken          int64
	Expired        int
	Entrants       string // the entrants, sorted, one a line
	// Replayed: the answer is a keyed call's kept answer.
	Replayed bool
}

// Apply makes the call in on s and returns its answer as an Output.
// OpClock is not a store call; Apply answers it with errOther.
func Apply(ctx context.Context, s sale.Store, in Input) Output {
	var out Output
	var err error
	switch in.Kind {
	case OpInitialize, OpReserve, OpConfirm, OpCancel:
		var ans sale.Answer
		ans, err = s.Do(ctx, call(in), in.Key)
		out.Replayed = ans.Replayed
		switch {
		case err != nil:
		case in.Kind == OpInitialize:
			out.Status = ans.Status
		case in.Kind == OpReserve:
			r := ans.Reserve
			out.Reservation, out.Position, out.AlreadyWaiting = r.Reservation, r.Position, r.AlreadyWaiting
			out.Queued, out.OpensAt, out.DrawCommitment = r.Queued, r.OpensAt, r.DrawCommitment
		default:
			r := ans.Reservation
			out.Reservation = &r
		}
	case OpReservation:
		out.Reservation, err = reservation(s.Reservation(ctx, in.ID))
	case OpUser:
		var u sale.UserState
		u, err = s.User(ctx, in.User)
		out.State, out.Position, out.Reservation = u.State, u.Position, u.Reservation
		out.Phase, out.OpensAt, out.DrawCommitment = u.Phase, u.OpensAt, u.DrawCommitment
		if err == nil && u.UserID != in.User {
			err = fmt.Errorf("user %q answered for user %q", in.User, u.UserID)
		}
	case OpLeave:
		err = s.Leave(ctx, in.User)
	case OpStatus:
		out.Status, err = s.Status(ctx)
	case OpExpire:
		out.Expired, err = s.Expire(ctx)
	case OpEntrants:
		var list []string
		list, err = s.Entrants(ctx)
		out.Entrants = strings.Join(list, "\n")
	default:
		err = fmt.Errorf("%v is not a store call", in.Kind)
	}
	if err != nil {
		out.Err, out.Detail = sale.KindOf(err), err.Error()
		if out.Err == "" {
			out.Err = errOther
		}
		var ce *sale.ConflictError
		if errors.As(err, &ce) {
			r := ce.Reservation
			out.Reservation = &r
		}
		var ie *sale.InventoryError
		if errors.As(err, &ie) {
			out.Taken = ie.Taken
		}
	}
	return out
}

// call is the change in asks for.
func call(in Input) sale.Call {
	switch in.Kind {
	case OpInitialize:
		return sale.Call{Op: sale.OpInitialize, Total: in.Total, Reset: in.Reset, Window: sale.Window{OpensAt: in.OpensAt, ClosesAt: in.ClosesAt}}
	case OpReserve:
		return sale.Call{Op: sale.OpReserve, UserID: in.User, Claim: in.Claim}
	case OpConfirm:
		return sale.Call{Op: sale.OpConfirm, ReservationID: in.ID, UserID: in.For}
	}
	return sale.Call{Op: sale.OpCancel, ReservationID: in.ID, UserID: in.For}
}

func reservation(r sale.Reservation, err error) (*sale.Reservation, error) {
	if err != nil {
		return nil, err
	}
	return &r, nil
}
