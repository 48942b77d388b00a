package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// A key record's call and answer are kept by a journal as one JSON document
// (its scope, key and time are columns, to look up and expire by). Both
// journals keep the same document, written and read here only. Times are
// Unix microseconds (sale.Precision), so they come back to the digit.

// EncodeKeyRecord returns the document that keeps r's call and answer.
func EncodeKeyRecord(r sale.KeyRecord) ([]byte, error) {
	d := keyDoc{
		Op: string(r.Call.Op), UserID: r.Call.UserID, ReservationID: r.Call.ReservationID,
		Total: r.Call.Total, Reset: r.Call.Reset, Claim: r.Call.Claim,
		OpensUS: toMicros(r.Call.Window.OpensAt), ClosesUS: toMicros(r.Call.Window.ClosesAt),
	}
	a := r.Answer
	if a.Err != nil {
		e, err := encodeErr(a.Err)
		if err != nil {
			return nil, fmt.Errorf("keep the answer to %s: %w", r.Call, err)
		}
		d.Err = &e
		return json.Marshal(d)
	}
	switch r.Call.Op {
	case sale.OpInitialize:
		st := toStatusDoc(a.Status)
		d.Status = &st
	case sale.OpReserve:
		if h := a.Reserve.Reservation; h != nil {
			hd := toReservationDoc(*h)
			d.Hold = &hd
		}
		d.Position, d.AlreadyWaiting = a.Reserve.Position, a.Reserve.AlreadyWaiting
		if a.Reserve.Queued {
			d.Queued = &queuedDoc{OpensUS: toMicros(a.Reserve.OpensAt), Commitment: a.Reserve.DrawCommitment}
		}
	case sale.OpConfirm, sale.OpCancel:
		rd := toReservationDoc(a.Reservation)
		d.Reservation = &rd
	}
	return json.Marshal(d)
}

// DecodeKeyRecord rebuilds the record of id made at at from its document.
func DecodeKeyRecord(id sale.KeyID, at time.Time, doc []byte) (sale.KeyRecord, error) {
	var d keyDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return sale.KeyRecord{}, fmt.Errorf("read the record of idempotency key %q of %s: %w", id.Key, id.Scope, err)
	}
	r := sale.KeyRecord{ID: id, At: at.UTC(), Call: sale.Call{
		Op: sale.Op(d.Op), UserID: d.UserID, ReservationID: d.ReservationID, Total: d.Total, Reset: d.Reset, Claim: d.Claim,
		Window: sale.Window{OpensAt: fromMicros(d.OpensUS), ClosesAt: fromMicros(d.ClosesUS)},
	}}
	// The answer was decided when the record was made (rules.Keyed).
	r.Answer.At = r.At
	if d.Err != nil {
		err, ok := d.Err.decode()
		if !ok {
			return sale.KeyRecord{}, fmt.Errorf("read the record of idempotency key %q of %s: unknown error code %q (kept by a newer flashsale?)", id.Key, id.Scope, d.Err.Code)
		}
		r.Answer.Err = err
		return r, nil
	}
	if d.Status != nil {
		r.Answer.Status = d.Status.status()
	}
	if d.Hold != nil {
		h := d.Hold.reservation()
		r.Answer.Reserve.Reservation = &h
	}
	r.Answer.Reserve.Position, r.Answer.Reserve.AlreadyWaiting = d.Position, d.AlreadyWaiting
	if q := d.Queued; q != nil {
		r.Answer.Reserve.Queued, r.Answer.Reserve.OpensAt, r.Answer.Reserve.DrawCommitment = true, fromMicros(q.OpensUS), q.Commitment
	}
	if d.Reservation != nil {
		r.Answer.Reservation = d.Reservation.reservation()
	}
	return r, nil
}

type keyDoc struct {
	Op            string `json:"op"`
	UserID        string `json:"user_id,omitempty"`
	ReservationID string `json:"reservation_id,omitempty"`
	Total         int64  `json:"total,omitempty"`
	Reset         bool   `json:"reset,omitempty"`
	Claim         bool   `json:"claim,omitempty"`
	OpensUS       int64  `json:"opens_us,omitempty"`
	ClosesUS      int64  `json:"closes_us,omitempty"`

	Err            *errDoc         `json:"err,omitempty"`
	Status         *statusDoc      `json:"status,omitempty"`
	Hold           *reservationDoc `json:"hold,omitempty"`
	Position       int64           `json:"position,omitempty"`
	AlreadyWaiting bool            `json:"already_waiting,omitempty"`
	Queued         *queuedDoc      `json:"queued,omitempty"`
	Reservation    *reservationDoc `json:"reservation,omitempty"`
}

// queuedDoc is a place in the pre-queue: the draw it waits for.
type queuedDoc struct {
	OpensUS    int64  `json:"opens_us"`
	Commitment string `json:"commitment"`
}

type statusDoc struct {
	Initialized bool   `json:"initialized"`
	Total       int64  `json:"total"`
	Available   int64  `json:"available"`
	Held        int64  `json:"held"`
	Confirmed   int64  `json:"confirmed"`
	Waiting     int64  `json:"waiting"`
	Phase       string `json:"phase,omitempty"`
	OpensUS     int64  `json:"opens_us,omitempty"`
	ClosesUS    int64  `json:"closes_us,omitempty"`
	Prequeued   int64  `json:"prequeued,omitempty"`
	Commitment  string `json:"commitment,omitempty"`
	Seed        string `json:"seed,omitempty"`
}

func toStatusDoc(s sale.Status) statusDoc {
	return statusDoc{
		s.Initialized, s.Total, s.Available, s.Held, s.Confirmed, s.Waiting,
		string(s.Phase), toMicros(s.OpensAt), toMicros(s.ClosesAt), s.Prequeued, s.DrawCommitment, s.DrawSeed,
	}
}

func (d statusDoc) status() sale.Status {
	return sale.Status{
		Initialized: d.Initialized, Total: d.Total, Available: d.Available, Held: d.Held, Confirmed: d.Confirmed, Waiting: d.Waiting,
		Phase: sale.Phase(d.Phase), OpensAt: fromMicros(d.OpensUS), ClosesAt: fromMicros(d.ClosesUS), Prequeued: d.Prequeued,
		DrawCommitment: d.Commitment, DrawSeed: d.Seed,
	}
}

// toMicros and fromMicros keep an optional time: the zero time is 0.
func toMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

type reservationDoc struct {
	ID        string `json:"id"`
	UserID    string `json:"user_id"`
	Status    string `json:"status"`
	CreatedUS int64  `json:"created_us"`
	ExpiresUS int64  `json:"expires_us"`
}

func toReservationDoc(r sale.Reservation) reservationDoc {
	return reservationDoc{r.ID, r.UserID, string(r.Status), r.CreatedAt.UnixMicro(), r.ExpiresAt.UnixMicro()}
}

func (d reservationDoc) reservation() sale.Reservation {
	return sale.Reservation{
		ID: d.ID, UserID: d.UserID, Status: sale.HoldStatus(d.Status),
		CreatedAt: time.UnixMicro(d.CreatedUS).UTC(), ExpiresAt: time.UnixMicro(d.ExpiresUS).UTC(),
	}
}

// errDoc is an answer's error: its kind (sale.Kind, which never changes, so
// that what is kept reads back the same), and what the error carries.
type errDoc struct {
	Code        string          `json:"code"`
	Reservation *reservationDoc `json:"reservation,omitempty"` // a conflict's
	Total       int64           `json:"total,omitempty"`       // an inventory conflict's
	Taken       int64           `json:"taken,omitempty"`
}

func encodeErr(err error) (errDoc, error) {
	kind := sale.KindOf(err)
	if kind == "" {
		return errDoc{}, fmt.Errorf("%v is not an answer a key can keep", err)
	}
	d := errDoc{Code: string(kind)}
	var ce *sale.ConflictError
	if errors.As(err, &ce) {
		rd := toReservationDoc(ce.Reservation)
		d.Reservation = &rd
	}
	var ie *sale.InventoryError
	if errors.As(err, &ie) {
		d.Total, d.Taken = ie.Total, ie.Taken
	}
	return d, nil
}

// decode rebuilds the error: the same error of the sale, conflict or
// inventory error, with what it carried, so that it is answered as the
// first was.
func (d errDoc) decode() (error, bool) {
	e := sale.ErrorOf(sale.Kind(d.Code))
	switch {
	case e == nil:
		return nil, false
	case d.Reservation != nil:
		return &sale.ConflictError{Err: e, Reservation: d.Reservation.reservation()}, true
	case e == sale.ErrInventoryConflict:
		return &sale.InventoryError{Total: d.Total, Taken: d.Taken}, true
	}
	return e, true
}

// KeyCutoff is the time at or before which a journal committing records
// forgets the records it keeps: those expired by the newest record's time
// (a record made at At is expired from At+ttl on).
func KeyCutoff(records []sale.KeyRecord, ttl time.Duration) time.Time {
	var newest time.Time
	for _, r := range records {
		if r.At.After(newest) {
			newest = r.At
		}
	}
	return newest.Add(-ttl)
}
