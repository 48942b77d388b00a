package load

import (
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// refereeSale is one sale's books as a competent engineer would keep them
// by hand: a map of users, the line as a FIFO slice, and the holds in the
// order they expire. Referee.mu guards all of it. A user is a value in the
// map and the line holds ids, not pointers: a crowd of hundreds of
// thousands is then no object of its own per user for the collector to
// trace, which is what a hand-written server that is meant to be fast
// would do.
type refereeSale struct {
	total, available, held int64
	users                  map[string]refereeUser
	// line is the waiting users' ids, line[0] the head. Taking the head
	// re-slices; append's next growth drops what was taken.
	line []string
	// tickets counts places ever given and served the heads ever taken, so
	// that a waiting user's position is their ticket less served, with no
	// walk of the line.
	tickets, served int64
	// holds is every live hold, the soonest to expire first: every hold
	// lasts holdTTL from a time read under the mutex, so the order in
	// which they are made is the order in which they expire, and a FIFO
	// does what the real server needs a heap for (a wall clock stepped
	// back would make a hold expire late, never early). Holds are
	// numbered from 1 as made (ids counts them); the one numbered n is
	// holds[n-1-expired].
	holds   []refereeHold
	expired int64  // holds ever taken off the head of holds
	key     uint64 // makes reservation ids differ between sales
	ids     uint64
}

// refereeUser is one user the sale knows. A user with neither a hold nor
// a place has let a hold expire: known (a new reserve needs their token),
// and free to reserve again.
type refereeUser struct {
	hold   int64 // the number of their hold; 0 when holding nothing
	ticket int64 // their place in line as given; 0 when not waiting
}

type refereeHold struct {
	id, user  string
	expiresAt time.Time
}

func newRefereeSale(total int64, now time.Time) *refereeSale {
	return &refereeSale{total: total, available: total, users: make(map[string]refereeUser), key: uint64(now.UnixNano())}
}

// refereeOutcome is how a reserve was decided.
type refereeOutcome int

const (
	refereeHeld          refereeOutcome = iota // a new hold
	refereeJoined                              // a new place at the end of the line
	refereeStillWaiting                        // already waiting: their place, not a second one
	refereeAlreadyHolds                        // already holding: 409, as the real server
	refereeTokenRequired                       // known, and the caller proved nobody: 401
)

// refereeAnswer is a reserve's decision and what its answer shows.
type refereeAnswer struct {
	outcome   refereeOutcome
	holdID    string
	expiresAt time.Time
	position  int64
}

// reserve decides user's reserve at now. proven says the caller showed a
// token for user (or the admin's): the real server lets only such a
// caller act for a user it knows, lest anyone act for another.
func (s *refereeSale) reserve(now time.Time, user string, proven bool) refereeAnswer {
	s.expire(now)
	u, known := s.users[user]
	switch {
	case known && !proven:
		return refereeAnswer{outcome: refereeTokenRequired}
	case u.hold != 0:
		h := s.holds[u.hold-1-s.expired]
		return refereeAnswer{outcome: refereeAlreadyHolds, holdID: h.id, expiresAt: h.expiresAt}
	case u.ticket != 0:
		return refereeAnswer{outcome: refereeStillWaiting, position: u.ticket - s.served}
	}
	if s.available > 0 {
		h := s.grant(user, now)
		return refereeAnswer{outcome: refereeHeld, holdID: h.id, expiresAt: h.expiresAt}
	}
	s.tickets++
	s.users[user] = refereeUser{ticket: s.tickets}
	s.line = append(s.line, user)
	return refereeAnswer{outcome: refereeJoined, position: s.tickets - s.served}
}

// grant gives user a unit in stock, held until holdTTL from now.
func (s *refereeSale) grant(user string, now time.Time) refereeHold {
	h := refereeHold{id: s.newID(), user: user, expiresAt: now.Add(holdTTL)}
	s.holds = append(s.holds, h)
	s.users[user] = refereeUser{hold: int64(s.ids)}
	s.available--
	s.held++
	return h
}

// expire ends every hold due at now, as the real server does when it
// next looks: from its expiry instant on. Its unit goes to the head of the
// line, who holds it from now, or back to stock.
func (s *refereeSale) expire(now time.Time) {
	for len(s.holds) > 0 && !now.Before(s.holds[0].expiresAt) {
		h := s.holds[0]
		s.holds[0] = refereeHold{}
		s.holds = s.holds[1:]
		s.expired++
		s.users[h.user] = refereeUser{}
		s.held--
		s.available++
		if len(s.line) > 0 {
			head := s.line[0]
			s.line[0] = ""
			s.line = s.line[1:]
			s.served++
			s.grant(head, now)
		}
	}
}

// status is the sale's numbers at now, due expiries applied first.
func (s *refereeSale) status(now time.Time) generated.Status {
	s.expire(now)
	return generated.Status{
		Initialized:    true,
		TotalInventory: s.total,
		Available:      s.available,
		Held:           s.held,
		WaitlistSize:   int64(len(s.line)),
	}
}

// newID makes a 22-character base64url id, the shape of the real server's,
// and numbers the hold it is for. It need not be unguessable here, only
// distinct.
func (s *refereeSale) newID() string {
	var raw [16]byte
	s.ids++
	binary.BigEndian.PutUint64(raw[:8], s.key)
	binary.BigEndian.PutUint64(raw[8:], s.ids)
	return base64.RawURLEncoding.EncodeToString(raw[:])
}
