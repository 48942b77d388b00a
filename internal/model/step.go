package model

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/flashsale/flashsale/internal/sale"
)

// State is what the checker carries between steps: the sale and the clock.
// The clock moves only through OpClock steps.
type State struct {
	Now  time.Time
	Sale *Sale
}

// Checker returns the porcupine model of a sale whose clock starts at start
// and whose holds last ttl.
func Checker(start time.Time, ttl time.Duration) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return &State{Now: start, Sale: New(ttl)} },
		Step: func(state, input, output any) (bool, any) {
			return Step(state.(*State), input.(Input), output.(Output))
		},
		Equal: func(a, b any) bool { return a.(*State).equal(b.(*State)) },
		DescribeOperation: func(input, output any) string {
			return describeOp(start, input.(Input), output.(Output))
		},
		DescribeState: func(state any) string { return state.(*State).describe(start) },
	}
}

// expected is the model's answer, with holds named by index, before it is
// compared with a store's Output.
type expected struct {
	Output
	hold int // the index of the hold the answer names, or -1
	// snap, for a replay, is the hold the answer named as it was then
	// (it may have moved on since, or been voided by a reset); hold is -1.
	snap *Hold
}

// Step reports whether a store could have answered in with out when in
// took effect at state, and the state after it. It never changes state.
func Step(state *State, in Input, out Output) (bool, *State) {
	next := &State{Now: state.Now, Sale: state.Sale.Clone()}
	if in.Kind == OpClock {
		next.Now = in.Now
		return !in.Now.Before(state.Now), next
	}
	if in.Key != "" && keyable(in.Kind) {
		return next.keyed(in, out), next
	}
	want := next.apply(in)
	return next.matches(want, out), next
}

// apply runs in on the model and returns its answer.
func (st *State) apply(in Input) expected {
	s, now := st.Sale, st.Now
	want := expected{hold: -1}
	switch in.Kind {
	case OpInitialize:
		// A rejected argument takes no effect, not even expiry.
		if in.Total < 0 || in.Total > sale.MaxInventory {
			want.Err = sale.ErrInvalid.Kind()
			break
		}
		w := sale.Window{OpensAt: in.OpensAt, ClosesAt: in.ClosesAt}
		if want.Taken, want.Err = s.Initialize(now, in.Total, in.Reset, w); want.Err != "" {
			break
		}
		want.Status = s.Status(now)
	case OpReserve:
		if in.Claim && s.Claimed(now, in.User) {
			want.Err = sale.ErrTokenRequired.Kind()
			break
		}
		r := s.Reserve(now, in.User)
		want.Err, want.hold, want.Position, want.AlreadyWaiting, want.Queued = r.Err, r.Hold, r.Position, r.Again, r.Queued
		if r.Queued {
			want.OpensAt, want.DrawCommitment = s.OpensAt, commitment
		}
	case OpConfirm, OpCancel, OpReservation:
		s.Advance(now)
		i := s.find(in.ID)
		if i >= 0 && in.For != "" && s.Holds[i].User != in.For {
			i = -1 // another user's: as if there were none
		}
		if i < 0 {
			want.Err = sale.ErrReservationNotFound.Kind()
			break
		}
		want.hold = i
		switch in.Kind {
		case OpConfirm:
			switch s.Confirm(now, i) {
			case sale.Expired:
				want.Err = sale.ErrHoldExpired.Kind()
			case sale.Cancelled:
				want.Err = sale.ErrHoldCancelled.Kind()
			}
		case OpCancel:
			switch s.Cancel(now, i) {
			case sale.Expired:
				want.Err = sale.ErrHoldExpired.Kind()
			case sale.Confirmed:
				want.Err = sale.ErrAlreadyConfirmed.Kind()
			}
		}
	case OpUser:
		u, pos := s.User(now, in.User)
		want.State, want.Position, want.hold = u.State, pos, u.Hold
		if s.Initialized {
			want.Phase = s.Phase
		}
		if u.State == sale.Queued {
			want.OpensAt, want.DrawCommitment = s.OpensAt, commitment
		}
	case OpLeave:
		if !s.Leave(now, in.User) {
			want.Err = sale.ErrNotWaiting.Kind()
		}
	case OpStatus:
		want.Status = s.Status(now)
	case OpExpire:
		want.Expired = s.Advance(now)
	case OpEntrants:
		want.Entrants = strings.Join(s.EntrantList(now), "\n")
	default:
		want.Err = errOther
	}
	return want
}

// matches compares the model's answer with a store's, binding a hold's
// reservation id the first time an answer names it.
func (st *State) matches(want expected, out Output) bool {
	if want.Err != out.Err || want.Position != out.Position || want.AlreadyWaiting != out.AlreadyWaiting ||
		want.Queued != out.Queued || !want.OpensAt.Equal(out.OpensAt) || want.DrawCommitment != out.DrawCommitment ||
		want.State != out.State || want.Phase != out.Phase && out.Phase != PhaseUnsaid || !sameStatus(want.Status, out.Status) ||
		want.Taken != out.Taken || want.Expired != out.Expired || want.Entrants != out.Entrants ||
		want.Replayed != out.Replayed {
		return false
	}
	named := want.hold >= 0 || want.snap != nil
	if !named || out.Reservation == nil {
		return !named && out.Reservation == nil
	}
	h, r := want.snap, out.Reservation
	if h == nil {
		h = &st.Sale.Holds[want.hold]
	}
	if (r.UserID != "" && r.UserID != h.User) || r.Status != h.Status ||
		(!r.CreatedAt.IsZero() && !r.CreatedAt.Equal(h.Created)) ||
		(!r.ExpiresAt.IsZero() && !r.ExpiresAt.Equal(h.Expires)) {
		return false
	}
	if want.snap != nil {
		return h.ID == r.ID // the first answer named it
	}
	switch {
	case h.ID == r.ID:
		return true
	case h.ID != "" || r.ID == "" || st.Sale.find(r.ID) >= 0:
		return false // a hold with two ids, or two holds with one id
	}
	h.ID = r.ID
	return true
}

// sameStatus compares statuses with time.Equal, since a store may give back
// times in another location.
func sameStatus(a, b sale.Status) bool {
	ta, tb := a, b
	ta.OpensAt, ta.ClosesAt, tb.OpensAt, tb.ClosesAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return ta == tb && a.OpensAt.Equal(b.OpensAt) && a.ClosesAt.Equal(b.ClosesAt)
}

// find returns the index of the hold with that id, or -1. Holds whose id no
// answer has named yet cannot match: no client could know their id.
func (s *Sale) find(id string) int {
	if id == "" {
		return -1
	}
	for i := range s.Holds {
		if s.Holds[i].ID == id {
			return i
		}
	}
	return -1
}

func (st *State) equal(o *State) bool {
	a, b := st.Sale, o.Sale
	if !st.Now.Equal(o.Now) || a.Initialized != b.Initialized || a.Total != b.Total || a.Available != b.Available ||
		len(a.Holds) != len(b.Holds) || len(a.Users) != len(b.Users) || len(a.Line) != len(b.Line) ||
		a.Phase != b.Phase || !a.OpensAt.Equal(b.OpensAt) || !a.ClosesAt.Equal(b.ClosesAt) ||
		(a.Seed == nil) != (b.Seed == nil) || a.Drawn != b.Drawn ||
		!slices.Equal(a.Pre, b.Pre) || !slices.Equal(a.Entrants, b.Entrants) {
		return false
	}
	for i := range a.Holds {
		x, y := a.Holds[i], b.Holds[i]
		if !x.equal(y) {
			return false
		}
	}
	for k, v := range a.Users {
		if b.Users[k] != v {
			return false
		}
	}
	for i := range a.Line {
		if a.Line[i] != b.Line[i] {
			return false
		}
	}
	if len(a.Keys) != len(b.Keys) {
		return false
	}
	for id, x := range a.Keys {
		y, ok := b.Keys[id]
		if !ok || !x.equal(y) {
			return false
		}
	}
	return true
}

// The descriptions below label porcupine's HTML timeline; times are shown
// relative to the start of the history.

func (st *State) describe(start time.Time) string {
	s := st.Sale
	var b strings.Builder
	fmt.Fprintf(&b, "t=%v total=%d available=%d line=%v", st.Now.Sub(start), s.Total, s.Available, s.Line)
	if s.Initialized {
		fmt.Fprintf(&b, " %s%s pre-queue=%v", s.Phase, describeWindow(start, s.OpensAt, s.ClosesAt), s.Pre)
	}
	b.WriteString(" holds:")
	for _, h := range s.Holds {
		fmt.Fprintf(&b, " %s/%s/%s/exp %v", shortID(h.ID), h.User, h.Status, h.Expires.Sub(start))
	}
	return b.String()
}

func describeOp(start time.Time, in Input, out Output) string {
	var arg string
	switch in.Kind {
	case OpClock:
		return fmt.Sprintf("clock → %v", in.Now.Sub(start))
	case OpInitialize:
		arg = fmt.Sprintf("%d, reset=%v", in.Total, in.Reset) + describeWindow(start, in.OpensAt, in.ClosesAt)
	case OpReserve, OpUser, OpLeave:
		arg = in.User
	case OpConfirm, OpCancel, OpReservation:
		arg = shortID(in.ID)
	}
	if in.Claim {
		arg += ", as a new user"
	}
	if in.For != "" {
		arg += ", for " + in.For
	}
	if in.Key != "" {
		arg += ", key " + in.Key
	}
	res := string(out.Err)
	if res == "" {
		res = "ok"
	}
	switch {
	case in.Kind == OpStatus || in.Kind == OpInitialize && out.Err == "":
		s := out.Status
		res = fmt.Sprintf("total=%d available=%d held=%d confirmed=%d waiting=%d", s.Total, s.Available, s.Held, s.Confirmed, s.Waiting)
		if s.Phase != "" {
			res += fmt.Sprintf(" %s%s prequeued=%d drawn=%v", s.Phase, describeWindow(start, s.OpensAt, s.ClosesAt), s.Prequeued, s.DrawSeed != "")
		}
	case in.Kind == OpUser:
		res = fmt.Sprintf("%s pos=%d (%s)", out.State, out.Position, out.Phase)
	case in.Kind == OpEntrants:
		res = "[" + strings.ReplaceAll(out.Entrants, "\n", " ") + "]"
	case out.Queued:
		res = fmt.Sprintf("queued again=%v", out.AlreadyWaiting)
	case in.Kind == OpExpire:
		res = fmt.Sprintf("%d expired", out.Expired)
	case out.Position > 0:
		res = fmt.Sprintf("waiting pos=%d again=%v", out.Position, out.AlreadyWaiting)
	case out.Err == sale.ErrInventoryConflict.Kind():
		res += fmt.Sprintf(" taken=%d", out.Taken)
	}
	if r := out.Reservation; r != nil {
		res += fmt.Sprintf(" [%s %s %s created %v expires %v]", shortID(r.ID), r.UserID, r.Status, r.CreatedAt.Sub(start), r.ExpiresAt.Sub(start))
	}
	if out.Replayed {
		res += " (replayed)"
	}
	return fmt.Sprintf("%s(%s) → %s", in.Kind, arg, res)
}

func describeWindow(start, opens, closes time.Time) string {
	var w string
	if !opens.IsZero() {
		w += fmt.Sprintf(", opens %v", opens.Sub(start))
	}
	if !closes.IsZero() {
		w += fmt.Sprintf(", closes %v", closes.Sub(start))
	}
	return w
}

func shortID(id string) string {
	if len(id) > 6 {
		return id[:6]
	}
	if id == "" {
		return "?"
	}
	return id
}
