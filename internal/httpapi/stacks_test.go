package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/testkit"
)

// The HTTP layer answers alike over every store and across servers: one
// sale played on each kind of stack (testkit.Each), every call on the next
// server, as a load balancer would spread them. A conflict kept with its
// key is replayed byte for byte by another server than the one that
// answered it, a promotion made on one server is what the next reads, and
// the token one server gave a shopper is taken by the next (its signing
// secrets are the database's): alice's and bob's later calls carry theirs.
func TestASaleOnEveryStack(t *testing.T) {
	testkit.Each(t, testkit.Options{}, func(t *testing.T, s *testkit.Stack) {
		ctx := t.Context()
		calls := 0
		next := func() *generated.ClientWithResponses {
			calls++
			return s.Next(calls).Client
		}
		admin := func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+s.AdminToken)
			return nil
		}
		if r, err := next().InitializeWithResponse(ctx, nil, generated.InitializeRequest{TotalInventory: 1}, admin); err != nil || r.JSON200 == nil {
			t.Fatalf("initialize: %v %s", err, r.Body)
		}
		alice, err := next().ReserveWithResponse(ctx, nil, generated.ReserveRequest{UserId: userID("alice")})
		if err != nil || alice.JSON201 == nil || alice.JSON201.ShopperToken == nil {
			t.Fatalf("alice: %v %s", err, alice.Body)
		}
		bob, err := next().ReserveWithResponse(ctx, nil, generated.ReserveRequest{UserId: userID("bob")})
		if err != nil || testkit.Waitlisted(bob) == nil || testkit.Waitlisted(bob).WaitlistPosition != 1 || testkit.Waitlisted(bob).ShopperToken == nil {
			t.Fatalf("bob: %v %s", err, bob.Body)
		}

		key := "again"
		first, err := next().ReserveWithResponse(ctx, &generated.ReserveParams{IdempotencyKey: &key}, generated.ReserveRequest{UserId: userID("alice")})
		if err != nil {
			t.Fatal(err)
		}
		wantFirst(t, answerOf(first.HTTPResponse, first.Body), http.StatusConflict)
		again, err := next().ReserveWithResponse(ctx, &generated.ReserveParams{IdempotencyKey: &key}, generated.ReserveRequest{UserId: userID("alice")})
		if err != nil {
			t.Fatal(err)
		}
		wantReplay(t, answerOf(first.HTTPResponse, first.Body), answerOf(again.HTTPResponse, again.Body))

		if r, err := next().CancelReservationWithResponse(ctx, alice.JSON201.ReservationId, nil); err != nil || r.JSON200 == nil {
			t.Fatalf("cancel alice: %v %s", err, r.Body)
		}
		u, err := next().GetUserWithResponse(ctx, "bob")
		if err != nil || u.JSON200 == nil {
			t.Fatalf("bob after alice cancelled: %v %s", err, u.Body)
		}
		if v, err := u.JSON200.ValueByDiscriminator(); err != nil {
			t.Fatal(err)
		} else if _, held := v.(generated.UserHeld); !held {
			t.Fatalf("bob after alice cancelled is %T, want held: %s", v, u.Body)
		}
		st, err := next().GetStatusWithResponse(ctx)
		if err != nil || st.JSON200 == nil || *st.JSON200 != (generated.Status{Phase: generated.StatusPhaseOpen, Initialized: true, TotalInventory: 1, Held: 1}) {
			t.Fatalf("status: %v %s", err, st.Body)
		}
	})
}
