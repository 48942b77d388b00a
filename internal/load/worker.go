package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// shared is what the workers of one run have in common.
type shared struct {
	prefix string // user id prefix, e.g. "u"
	mix    bool
	limit  int64        // new users to send; 0 means until stop
	next   atomic.Int64 // the last user number handed out
	stop   atomic.Bool

	errOnce sync.Once
	err     error
}

// fail records the first transport error and stops the run: a request whose
// answer was lost may or may not have changed the books, so they can no
// longer be checked exactly.
func (s *shared) fail(err error) {
	s.errOnce.Do(func() { s.err = err })
	s.stop.Store(true)
}

// worker sends one request at a time over its own keep-alive connection.
type worker struct {
	*shared
	c    *client // the server this worker talks to
	t    *tally
	buf  bytes.Buffer // the last answer's body, reused
	user []byte       // the current user id, reused
}

func (w *worker) run(ctx context.Context) {
	for !w.stop.Load() {
		n := w.next.Add(1)
		if w.limit > 0 && n > w.limit {
			return
		}
		if err := w.newUser(ctx, n); err != nil {
			w.fail(err)
			return
		}
	}
}

// send times one request and counts its status.
func (w *worker) send(ctx context.Context, o op, method string, u urlPath, body []byte) (answer, error) {
	start := time.Now()
	a, err := w.c.do(ctx, method, u.url, body, u.header, &w.buf)
	if err != nil {
		return a, fmt.Errorf("%s %s: %w", method, u.url.Path, err)
	}
	us := time.Since(start).Microseconds()
	_ = w.t.hist.RecordValue(max(us, histMin)) // beyond a minute: clamped by the run's own deadline
	w.t.count(o, a.status)
	return a, nil
}

// newUser sends user n's first reservation and, with mix, its follow-up.
func (w *worker) newUser(ctx context.Context, n int64) error {
	w.user = appendUserID(w.user[:0], w.prefix, n)
	// A fresh body each time: the transport may still hold the last one.
	body := appendReserveBody(make([]byte, 0, len(w.user)+16), w.user)
	a, err := w.send(ctx, opReserve, http.MethodPost, w.c.reservePath(), body)
	if err != nil {
		return err
	}
	switch a.status {
	case http.StatusCreated:
		var h generated.Hold
		if err := json.Unmarshal(a.body, &h); err != nil || h.UserId != string(w.user) || h.Status != generated.HoldStatusHeld || h.ReservationId == "" {
			w.t.problem("201 for %s does not hold it: %.200s", w.user, a.body)
			return nil
		}
		w.t.holds = append(w.t.holds, hold{user: h.UserId, id: h.ReservationId})
		if !hasToken(h.ShopperToken) {
			w.t.problem("201 for %s, new to the sale, carries no shopper_token: %.200s", w.user, a.body)
			return nil
		}
		if w.mix {
			return w.followHold(ctx, n, h, body)
		}
	case http.StatusAccepted:
		var wl generated.Waitlisted
		if err := json.Unmarshal(a.body, &wl); err != nil || wl.UserId != string(w.user) || wl.Status != generated.WaitlistedStatusWaiting {
			w.t.problem("202 for %s does not place it: %.200s", w.user, a.body)
			return nil
		}
		w.t.positions = append(w.t.positions, wl.WaitlistPosition)
		if !hasToken(wl.ShopperToken) {
			w.t.problem("202 for %s, new to the sale, carries no shopper_token: %.200s", w.user, a.body)
			return nil
		}
		if w.mix && n%4 == 0 {
			return w.repeatWaiting(ctx, wl, body)
		}
	}
	return nil
}

func hasToken(t *string) bool { return t != nil && *t != "" }

// as is the request target u with the shopper token that makes it the
// user's own call: every follow-up is made by the user it is about, as a
// shopper's own device makes it. The header is built for the one request
// (a RoundTripper must not modify its request's).
func as(u urlPath, token string) urlPath {
	h := make(http.Header, len(u.header)+1)
	for k, v := range u.header {
		h[k] = v
	}
	h["Authorization"] = []string{"Bearer " + token}
	return urlPath{url: u.url, header: h}
}

// followHold confirms a quarter of the holds, cancels a quarter, has a
// quarter ask again (which must be refused) and leaves the rest held.
func (w *worker) followHold(ctx context.Context, n int64, h generated.Hold, body []byte) error {
	token := *h.ShopperToken
	switch n % 4 {
	case 0:
		return w.resolve(ctx, opConfirm, h.ReservationId, token, generated.ReservationStatusConfirmed, &w.t.confirmed)
	case 1:
		return w.resolve(ctx, opCancel, h.ReservationId, token, generated.ReservationStatusCancelled, &w.t.cancelled)
	case 2:
		a, err := w.send(ctx, opRepeat, http.MethodPost, as(w.c.reservePath(), token), body)
		if err != nil || a.status != http.StatusConflict {
			return err // a wrong status is counted and judged by checkBooks
		}
		var p generated.Problem
		if err := json.Unmarshal(a.body, &p); err != nil || p.Type != "/problems/already-reserved" ||
			p.ReservationId == nil || *p.ReservationId != h.ReservationId {
			w.t.problem("repeat reserve by %s, who holds %s: %.200s", h.UserId, h.ReservationId, a.body)
		}
	}
	return nil
}

// resolve confirms or cancels a hold, which must succeed: holds outlive the
// run (the server's hold TTL is minutes), and nobody else touches them.
func (w *worker) resolve(ctx context.Context, o op, id, token string, want generated.ReservationStatus, ok *int64) error {
	verb := "confirm"
	if o == opCancel {
		verb = "cancel"
	}
	u := as(w.c.path("reservations", id, verb), token)
	a, err := w.send(ctx, o, http.MethodPost, u, nil)
	if err != nil || a.status != http.StatusOK {
		return err
	}
	var r generated.Reservation
	if err := json.Unmarshal(a.body, &r); err != nil || r.ReservationId != id || r.Status != want {
		w.t.problem("%s %s: %.200s", verb, id, a.body)
		return nil
	}
	*ok++
	return nil
}

// repeatWaiting has a waiting user ask again: they keep their place (or a
// better one), or, if a cancel promoted them meanwhile, are told they hold.
func (w *worker) repeatWaiting(ctx context.Context, first generated.Waitlisted, body []byte) error {
	a, err := w.send(ctx, opRepeat, http.MethodPost, as(w.c.reservePath(), *first.ShopperToken), body)
	if err != nil {
		return err
	}
	switch a.status {
	case http.StatusAccepted:
		var wl generated.Waitlisted
		if err := json.Unmarshal(a.body, &wl); err != nil || wl.UserId != first.UserId ||
			wl.WaitlistPosition < 1 || wl.WaitlistPosition > first.WaitlistPosition {
			w.t.problem("repeat reserve by %s, waiting at %d: %.200s", first.UserId, first.WaitlistPosition, a.body)
		}
	case http.StatusConflict:
		var p generated.Problem
		if err := json.Unmarshal(a.body, &p); err != nil || p.Type != "/problems/already-reserved" {
			w.t.problem("repeat reserve by %s, waiting at %d: %.200s", first.UserId, first.WaitlistPosition, a.body)
		}
	}
	return nil
}
