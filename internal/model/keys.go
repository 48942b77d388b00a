package model

import (
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// kept is a keyed call's first answer, kept under its key.
type kept struct {
	in   Input    // the call, with Now and Key cleared
	want expected // its answer, naming its hold by snap
	at   time.Time
}

func (k kept) equal(o kept) bool {
	a, b := k.want, o.want
	a.snap, b.snap = nil, nil
	return k.in == o.in && a == b && k.at.Equal(o.at) &&
		(k.want.snap == nil) == (o.want.snap == nil) && (k.want.snap == nil || k.want.snap.equal(*o.want.snap))
}

func keyable(k Kind) bool {
	return k == OpInitialize || k == OpReserve || k == OpConfirm || k == OpCancel
}

// keyScope is whose key it is: the user for reserve, the reservation for
// confirm and cancel (with the user they are made for, if any), the admin
// for initialize.
func keyScope(in Input) string {
	switch in.Kind {
	case OpReserve:
		return "user " + in.User
	case OpConfirm, OpCancel:
		if in.For != "" {
			return "user " + in.For + " reservation " + in.ID
		}
		return "reservation " + in.ID
	}
	return "admin"
}

// keyed steps a call with an idempotency key: a key kept and not expired
// answers its first answer again (replayed) if the call is the same, and
// sale.ErrKeyMismatch otherwise, changing nothing but what is due
// (Advance); a key not kept runs the call and keeps its answer, whatever
// it is.
//
// A store may also answer sale.ErrKeyInFlight, having done nothing, to a retry
// that overlaps the key's first attempt. A sequential model cannot see the
// overlap, so it accepts that answer, and only it, as a call without effect
// from any state; that exactly one attempt runs is checked apart from the
// model (TestKeyedConcurrency in the conformance suite).
func (st *State) keyed(in Input, out Output) bool {
	if out.Err == sale.ErrKeyInFlight.Kind() {
		return out == Output{Err: sale.ErrKeyInFlight.Kind(), Detail: out.Detail}
	}
	s, now := st.Sale, st.Now
	call := in
	call.Now, call.Key = time.Time{}, ""
	id := keyScope(in) + "\x00" + in.Key
	if k, ok := s.Keys[id]; ok && now.Before(k.at.Add(s.KeyTTL)) {
		s.Advance(now)
		if k.in != call {
			return st.matches(expected{Output: Output{Err: sale.ErrKeyMismatch.Kind()}, hold: -1}, out)
		}
		want := k.want
		want.Replayed = true
		return st.matches(want, out)
	}
	want := st.apply(in)
	ok := st.matches(want, out) // binds the hold's id, which the replay must repeat
	k := kept{in: call, want: want, at: now}
	if want.hold >= 0 {
		h := s.Holds[want.hold]
		k.want.hold, k.want.snap = -1, &h
	}
	s.Keys[id] = k
	return ok
}
