package main

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/testkit"
)

// TestExpiryAcrossRestart: a hold's expiry is kept across a crash, whether
// it falls while the server is down or after it is back.
func TestExpiryAcrossRestart(t *testing.T) {
	bin := serverbin.Path(t)
	expiryArgs := func(db string, ttl time.Duration) []string {
		return []string{"--store", "sqlite", "--db", db, "--admin-token", "expiry",
			"--hold-ttl", ttl.String(), "--inventory", "2", "--rate-limit", "0"}
	}

	// The holds fall due while no server runs: the restart expires them
	// and hands both units to the head of the line.
	t.Run("expired while down", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "sale.db")
		srv := testkit.StartProcess(t, bin, expiryArgs(db, 2*time.Second)...)
		holds := holdTwoQueueThree(t, newClient(t, srv.URL))
		due := laterExpiry(holds)
		srv.Kill(t)
		if !time.Now().Before(earlierExpiry(holds)) {
			t.Fatalf("the kill came after the holds were due (%v): the running server may have expired them, so this run tests nothing; the machine is too busy", clock(earlierExpiry(holds)))
		}
		waitPast(t, due)

		restarted := time.Now()
		// A long TTL now: the holds the restart hands out must not expire
		// while they are checked.
		srv = testkit.StartProcess(t, bin, expiryArgs(db, crashHoldTTL)...)
		c := newClient(t, srv.URL)
		for _, h := range holds {
			r := mustReservation(t, c, h.ReservationId)
			if r.Status != generated.ReservationStatusExpired || r.UserId != h.UserId || !r.ExpiresAt.Equal(h.ExpiresAt) {
				t.Errorf("hold %+v reads %+v after the restart, want it expired", h, r)
			}
			got := mustUser(t, c, h.UserId)
			if _, ok := got.(generated.UserNone); !ok {
				t.Errorf("%s is %s, want none: their hold expired", h.UserId, describeUser(got))
			}
		}
		for _, u := range []string{"waiter-1", "waiter-2"} {
			got := mustUser(t, c, u)
			held, ok := got.(generated.UserHeld)
			if !ok {
				t.Errorf("%s is %s, want a fresh hold", u, describeUser(got))
				continue
			}
			r := held.Reservation
			if r.CreatedAt.Before(sale.Instant(restarted)) || r.CreatedAt.Before(due) {
				t.Errorf("%s's hold was created at %v: before the restart (%v) or the old holds' expiry (%v)", u, clock(r.CreatedAt), clock(restarted), clock(due))
			}
			if !r.ExpiresAt.Equal(r.CreatedAt.Add(crashHoldTTL)) {
				t.Errorf("%s's hold expires at %v, not the restarted server's TTL after %v", u, clock(r.ExpiresAt), clock(r.CreatedAt))
			}
		}
		wantPlace(t, c, "waiter-3", 1)
		wantStatus(t, c, generated.Status{Phase: generated.StatusPhaseOpen, Initialized: true, TotalInventory: 2, Available: 0, Held: 2, Confirmed: 0, WaitlistSize: 1})
	})

	// The server is back before the holds are due: they are still held,
	// unchanged, and the rebuilt server expires them on time.
	t.Run("due after the restart", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "sale.db")
		const ttl = 3 * time.Second
		srv := testkit.StartProcess(t, bin, expiryArgs(db, ttl)...)
		c := newClient(t, srv.URL)
		holds := holdTwoQueueThree(t, c)
		before := []generated.Reservation{mustReservation(t, c, holds[0].ReservationId), mustReservation(t, c, holds[1].ReservationId)}
		srv.Kill(t)

		srv = testkit.StartProcess(t, bin, expiryArgs(db, ttl)...)
		c = newClient(t, srv.URL)
		var after []generated.Reservation
		for _, r := range before {
			after = append(after, mustReservation(t, c, r.ReservationId))
		}
		places := []any{mustUser(t, c, "waiter-1"), mustUser(t, c, "waiter-2"), mustUser(t, c, "waiter-3")}
		status := mustStatus(t, c)
		if !time.Now().Before(earlierExpiry(holds)) {
			t.Fatalf("the restart and its reads ended after the holds were due (%v): this run tests nothing; the machine is too busy", clock(earlierExpiry(holds)))
		}
		for i, r := range after {
			if !sameReservation(r, before[i]) {
				t.Errorf("hold %+v reads %+v after the restart, want it unchanged", before[i], r)
			}
		}
		for i, got := range places {
			if w, ok := got.(generated.UserWaiting); !ok || w.WaitlistPosition != int64(i+1) {
				t.Errorf("waiter-%d is %s after the restart, want waiting at %d", i+1, describeUser(got), i+1)
			}
		}
		if want := (generated.Status{Phase: generated.StatusPhaseOpen, Initialized: true, TotalInventory: 2, Held: 2, WaitlistSize: 3}); status != want {
			t.Errorf("status %+v after the restart, want %+v", status, want)
		}

		due := laterExpiry(holds)
		waitPast(t, due)
		for _, r := range before {
			if got := mustReservation(t, c, r.ReservationId); got.Status != generated.ReservationStatusExpired {
				t.Errorf("hold %s is %s after it was due, want expired", r.ReservationId, got.Status)
			}
		}
		for _, u := range []string{"waiter-1", "waiter-2"} {
			got := mustUser(t, c, u)
			if held, ok := got.(generated.UserHeld); !ok || held.Reservation.CreatedAt.Before(due) {
				t.Errorf("%s is %s once the holds expired, want a hold made since %v", u, describeUser(got), clock(due))
			}
		}
		wantPlace(t, c, "waiter-3", 1)
	})
}

// holdTwoQueueThree fills a sale of two units: holder-1 and holder-2 hold
// them, waiter-1..3 wait in that order.
func holdTwoQueueThree(t *testing.T, c *generated.ClientWithResponses) []generated.Hold {
	t.Helper()
	var holds []generated.Hold
	for _, u := range []string{"holder-1", "holder-2"} {
		r := mustReserve(t, c, u)
		if r.JSON201 == nil {
			t.Fatalf("reserve %s: %d %s, want 201", u, r.StatusCode(), r.Body)
		}
		holds = append(holds, *r.JSON201)
	}
	for i, u := range []string{"waiter-1", "waiter-2", "waiter-3"} {
		r := mustReserve(t, c, u)
		if w := testkit.Waitlisted(r); w == nil || w.WaitlistPosition != int64(i+1) {
			t.Fatalf("reserve %s: %d %s, want 202 at %d", u, r.StatusCode(), r.Body, i+1)
		}
	}
	return holds
}

func earlierExpiry(holds []generated.Hold) time.Time {
	return slices.MinFunc(holds, func(a, b generated.Hold) int { return a.ExpiresAt.Compare(b.ExpiresAt) }).ExpiresAt
}

func laterExpiry(holds []generated.Hold) time.Time {
	return slices.MaxFunc(holds, func(a, b generated.Hold) int { return a.ExpiresAt.Compare(b.ExpiresAt) }).ExpiresAt
}

// sameReservation compares two reads of a reservation, times by instant.
func sameReservation(a, b generated.Reservation) bool {
	return a.ReservationId == b.ReservationId && a.UserId == b.UserId && a.Status == b.Status &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}

// waitPast returns once the wall clock (the one expiry is measured on) is
// past at, which must be within seconds.
func waitPast(t *testing.T, at time.Time) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !time.Now().After(at) {
		if time.Now().After(deadline) {
			t.Fatalf("the clock did not pass %v within 30s", at)
		}
		time.Sleep(min(time.Until(at)+time.Millisecond, 100*time.Millisecond))
	}
}

func wantPlace(t *testing.T, c *generated.ClientWithResponses, u string, pos int64) {
	t.Helper()
	got := mustUser(t, c, u)
	if w, ok := got.(generated.UserWaiting); !ok || w.WaitlistPosition != pos {
		t.Errorf("%s is %s, want waiting at %d", u, describeUser(got), pos)
	}
}

func wantStatus(t *testing.T, c *generated.ClientWithResponses, want generated.Status) {
	t.Helper()
	if got := mustStatus(t, c); got != want {
		t.Errorf("status %+v, want %+v", got, want)
	}
}
