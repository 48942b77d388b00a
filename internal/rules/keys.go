package rules

import (
	"fmt"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// KeyOf is key in the scope of the caller of c: the user for reserve, the
// reservation for confirm and cancel, the admin for initialize. A key is
// compared only with the keys of its scope, so that two callers choosing
// the same key never share an answer (docs/design.md says why each scope is
// the caller's own).
func KeyOf(c sale.Call, key string) sale.KeyID {
	switch c.Op {
	case sale.OpReserve:
		return sale.KeyID{Scope: "user:" + c.UserID, Key: key}
	case sale.OpConfirm, sale.OpCancel:
		// A call made for a user is in that user's scope: another user
		// sending the same key for the same reservation shares nothing
		// with it, not even a mismatch that would tell the key was used.
		if c.UserID != "" {
			return sale.KeyID{Scope: "user:" + c.UserID + " reservation:" + c.ReservationID, Key: key}
		}
		return sale.KeyID{Scope: "reservation:" + c.ReservationID, Key: key}
	default:
		return sale.KeyID{Scope: "admin", Key: key}
	}
}

// Keyed makes the change c once under the key id, which is KeyOf(c, key)
// (the store makes it once, to look the key up before the decision). The
// first call makes the change and keeps its answer, whatever it is (a hold,
// a place in line, a conflict): every answer a decision gives is the answer
// to that request. A later call with the same key and the same Call, until
// the key's TTL has passed, gets that answer again, Replayed, and changes
// nothing; with another Call it gets sale.ErrKeyMismatch, and nothing is
// done or kept. Like every decision, a replay and a mismatch first apply
// the expiries due. A key longer than sale.MaxKeyLength is sale.ErrInvalid,
// before anything else.
func (s *Sale) Keyed(now time.Time, id sale.KeyID, c sale.Call) sale.Answer {
	if len(id.Key) > sale.MaxKeyLength {
		return sale.Answer{Err: fmt.Errorf("%s: %w: an idempotency key is at most %d bytes, got %d", c, sale.ErrInvalid, sale.MaxKeyLength, len(id.Key))}
	}
	now = sale.Instant(now)
	s.keys.forgetExpired(now)
	if r := s.keys.live(id, now); r != nil {
		s.advance(now) // what Do does first, for a call that runs
		if r.Call != c {
			return sale.Answer{Err: fmt.Errorf("%s with idempotency key %q: %w (%s)", c, id.Key, sale.ErrKeyMismatch, r.Call)}
		}
		ans := r.Answer
		ans.Replayed = true
		if h := ans.Reserve.Reservation; h != nil {
			copied := *h // the kept answer's hold is not the caller's to change
			ans.Reserve.Reservation = &copied
		}
		return ans
	}
	ans := s.Do(now, c)
	s.keys.add(sale.KeyRecord{ID: id, At: now, Call: c, Answer: ans})
	return ans
}

// Do makes the change c and returns its answer.
func (s *Sale) Do(now time.Time, c sale.Call) sale.Answer {
	var a sale.Answer
	switch c.Op {
	case sale.OpInitialize:
		a.Status, a.Err = s.InitializeWindow(now, c.Total, c.Reset, c.Window)
	case sale.OpReserve:
		if c.Claim {
			a.Reserve, a.Err = s.Claim(now, c.UserID)
		} else {
			a.Reserve, a.Err = s.Reserve(now, c.UserID)
		}
	case sale.OpConfirm:
		a.Reservation, a.Err = s.ConfirmFor(now, c.ReservationID, c.UserID)
	case sale.OpCancel:
		a.Reservation, a.Err = s.CancelFor(now, c.ReservationID, c.UserID)
	default:
		a.Err = fmt.Errorf("%w: no change is called %q", sale.ErrInvalid, c.Op)
	}
	a.At = sale.Instant(now)
	return a
}

// LoadKeys adds records a durable store found in its journal for the keys
// of the calls it is about to decide. Of two records for one key (the older
// one expired), the newer one counts.
func (s *Sale) LoadKeys(records []sale.KeyRecord) {
	for i := range records {
		r := &records[i]
		if old := s.keys.byID[r.ID]; old == nil || old.At.Before(r.At) {
			s.keys.byID[r.ID] = r
		}
	}
}

// TakeKeys returns the records kept since the last TakeKeys, oldest first,
// for a durable store to commit with the batch's events. The slice is
// valid until the next decision.
func (s *Sale) TakeKeys() []sale.KeyRecord {
	m := s.keys.made
	s.keys.made = s.keys.made[:0]
	return m
}

// ClearKeys forgets every key. A durable store, whose journal is where keys
// are kept, clears them after each batch, so that what it has in memory is
// never older than what the journal holds.
func (s *Sale) ClearKeys() { s.keys.clear() }

// keyTable is the keys a sale keeps, in memory: all of them for a memory
// store, those of one batch for a durable one. Records are kept in the
// order they were made, which, every key living as long, is the order they
// expire in: forgetting the expired and, beyond max, the oldest is popping
// the front. Lookups are by map.
type keyTable struct {
	ttl   time.Duration
	max   int
	byID  map[sale.KeyID]*sale.KeyRecord
	order []*sale.KeyRecord // oldest first from head
	head  int
	made  []sale.KeyRecord
}

func newKeyTable(ttl time.Duration, max int) keyTable {
	t := keyTable{ttl: ttl, max: max}
	t.clear()
	return t
}

// clear forgets every record. The table's storage is kept: a durable store
// clears it after every batch.
func (t *keyTable) clear() {
	if t.byID == nil {
		t.byID = make(map[sale.KeyID]*sale.KeyRecord)
	}
	clear(t.byID)
	clear(t.order)
	t.order, t.head = t.order[:0], 0
	t.made = t.made[:0]
}

// live is id's record unless it has expired at now.
func (t *keyTable) live(id sale.KeyID, now time.Time) *sale.KeyRecord {
	r := t.byID[id]
	if r == nil || !now.Before(r.At.Add(t.ttl)) {
		return nil
	}
	return r
}

func (t *keyTable) add(r sale.KeyRecord) {
	t.made = append(t.made, r) // for TakeKeys, whose array is reused
	p := &r
	t.byID[r.ID] = p
	t.order = append(t.order, p)
	for len(t.order)-t.head > t.max {
		t.pop()
	}
}

// forgetExpired drops the records whose TTL has passed at now.
func (t *keyTable) forgetExpired(now time.Time) {
	for t.head < len(t.order) && !now.Before(t.order[t.head].At.Add(t.ttl)) {
		t.pop()
	}
}

func (t *keyTable) pop() {
	r := t.order[t.head]
	t.order[t.head] = nil
	t.head++
	if t.byID[r.ID] == r {
		delete(t.byID, r.ID)
	}
	// Reclaim the popped front once it is most of the slice: amortized O(1).
	if t.head >= 1024 && t.head >= len(t.order)/2 {
		t.order = append(t.order[:0:0], t.order[t.head:]...)
		t.head = 0
	}
}
