package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
)

// One test per row of the API table in the issue: every operation, every
// answer it can give, through the generated client, with every response
// checked against the document by the harness.

func TestInitialize(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()

	t.Run("no token is 401 with WWW-Authenticate", func(t *testing.T) {
		resp, err := h.client.InitializeWithResponse(ctx, nil, generated.InitializeRequest{TotalInventory: 5})
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, resp.StatusCode(), 401, resp.Body, "/problems/unauthorized")
		if got := resp.HTTPResponse.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Errorf("WWW-Authenticate %q", got)
		}
	})
	t.Run("wrong token is 401", func(t *testing.T) {
		for _, auth := range []string{"Bearer wrong", "Bearer " + adminToken + "x", "Basic " + adminToken, adminToken, "Bearer"} {
			resp, body := h.raw("POST", "/initialize", "application/json", strings.NewReader(`{"total_inventory":5}`), "Authorization", auth)
			wantProblem(t, resp.StatusCode, 401, body, "/problems/unauthorized")
		}
		if st := h.status(); st.Initialized {
			t.Fatalf("an unauthorized initialize changed the sale: %+v", st)
		}
	})
	t.Run("200 returns the status", func(t *testing.T) {
		resp, err := h.client.InitializeWithResponse(ctx, nil, generated.InitializeRequest{TotalInventory: 5}, asAdmin)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		want := generated.Status{Phase: generated.StatusPhaseOpen, Initialized: true, TotalInventory: 5, Available: 5}
		if *resp.JSON200 != want {
			t.Fatalf("got %+v, want %+v", *resp.JSON200, want)
		}
	})
	t.Run("bounds are 400", func(t *testing.T) {
		for _, body := range []string{`{"total_inventory":-1}`, `{"total_inventory":1000000001}`, `{"total_inventory":1.5}`,
			`{"total_inventory":"5"}`, `{}`, `{"total_inventory":5,"extra":true}`, `{"total_inventory":5,"reset":"yes"}`, `[]`, `null`} {
			resp, b := h.raw("POST", "/initialize", "application/json", strings.NewReader(body), "Authorization", "Bearer "+adminToken)
			wantProblem(t, resp.StatusCode, 400, b, "/problems/invalid-request")
		}
	})
	t.Run("below held+confirmed is 409, reset is 200", func(t *testing.T) {
		h.hold("a")
		h.hold("b")
		resp, err := h.client.InitializeWithResponse(ctx, nil, generated.InitializeRequest{TotalInventory: 1}, asAdmin)
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, resp.StatusCode(), 409, resp.Body, "/problems/inventory-conflict")
		reset := true
		resp, err = h.client.InitializeWithResponse(ctx, nil, generated.InitializeRequest{TotalInventory: 1, Reset: &reset}, asAdmin)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %s", err, resp.Body)
		}
		if want := (generated.Status{Phase: generated.StatusPhaseOpen, Initialized: true, TotalInventory: 1, Available: 1}); *resp.JSON200 != want {
			t.Fatalf("after reset %+v, want %+v", *resp.JSON200, want)
		}
	})
	t.Run("the maximum is accepted", func(t *testing.T) {
		reset := true
		resp, err := h.client.InitializeWithResponse(ctx, nil, generated.InitializeRequest{TotalInventory: sale.MaxInventory, Reset: &reset}, asAdmin)
		if err != nil || resp.StatusCode() != 200 {
			t.Fatalf("%v %s", err, resp.Body)
		}
	})
}

func TestReserve(t *testing.T) {
	h := newHarness(t)

	t.Run("before initialize is 409 not-initialized", func(t *testing.T) {
		resp := h.reserve("early")
		wantProblem(t, resp.StatusCode(), 409, resp.Body, "/problems/not-initialized")
	})
	h.initialize(1)
	var held generated.Hold
	t.Run("201 with Location while stock lasts", func(t *testing.T) {
		resp := h.reserve("alice")
		if resp.JSON201 == nil {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
		held = *resp.JSON201
		if held.UserId != "alice" || held.Status != generated.HoldStatusHeld || !held.ExpiresAt.Equal(epoch.Add(holdTTL)) {
			t.Fatalf("hold %+v", held)
		}
		// A user new to the sale is answered with their token.
		if held.ShopperToken == nil || *held.ShopperToken == "" {
			t.Fatalf("a new user's hold has no shopper_token: %s", resp.Body)
		}
		if loc := resp.HTTPResponse.Header.Get("Location"); loc != "/reservations/"+held.ReservationId {
			t.Fatalf("Location %q", loc)
		}
	})
	t.Run("a holder asking again is 409 already-reserved with the reservation", func(t *testing.T) {
		resp := h.reserve("alice")
		p := wantProblem(t, resp.StatusCode(), 409, resp.Body, "/problems/already-reserved")
		if p.ReservationId == nil || *p.ReservationId != held.ReservationId || p.ReservationStatus == nil || *p.ReservationStatus != "held" {
			t.Fatalf("problem %s", resp.Body)
		}
	})
	t.Run("202 with position and Location once sold out", func(t *testing.T) {
		tokens := map[string]bool{*held.ShopperToken: true}
		for i, u := range []string{"bob", "carol"} {
			resp := h.reserve(u)
			w := testkit.Waitlisted(resp)
			if w == nil {
				t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
			}
			got := *w
			if got.ShopperToken == nil || tokens[*got.ShopperToken] {
				t.Fatalf("a new user in line has no token of their own: %s", resp.Body)
			}
			tokens[*got.ShopperToken] = true
			got.ShopperToken = nil
			want := generated.Waitlisted{Status: generated.WaitlistedStatusWaiting, Message: "Added to waitlist", WaitlistPosition: int64(i + 1), UserId: u}
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			if loc := resp.HTTPResponse.Header.Get("Location"); loc != "/users/"+u {
				t.Fatalf("Location %q", loc)
			}
		}
	})
	t.Run("a waiting user asking again keeps their place", func(t *testing.T) {
		resp := h.reserve("carol") // with her token
		w := testkit.Waitlisted(resp)
		if w == nil || w.WaitlistPosition != 2 || w.Message != "Already in waitlist" {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
		if w.ShopperToken != nil {
			t.Fatalf("a token is given once, yet a known user's answer has one: %s", resp.Body)
		}
		if st := h.status(); st.WaitlistSize != 2 {
			t.Fatalf("line grew: %+v", st)
		}
	})
	t.Run("a known user without their token is 401 token-required", func(t *testing.T) {
		before := h.status()
		resp, err := h.bare.ReserveWithResponse(h.ctx(), nil, generated.ReserveRequest{UserId: userID("carol")})
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, resp.StatusCode(), 401, resp.Body, "/problems/token-required")
		if got := resp.HTTPResponse.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Errorf("WWW-Authenticate %q", got)
		}
		if after := h.status(); after != before {
			t.Fatalf("the refused reserve changed the sale: %+v, then %+v", before, after)
		}
		if u := userAs[generated.UserWaiting](h, "carol"); u.WaitlistPosition != 2 {
			t.Fatalf("carol after the refused reserve: %+v", u)
		}
	})
	t.Run("a buyer asking again is 409 with the confirmed reservation", func(t *testing.T) {
		if _, err := h.client.ConfirmReservationWithResponse(h.ctx(), held.ReservationId, nil); err != nil {
			t.Fatal(err)
		}
		resp := h.reserve("alice")
		p := wantProblem(t, resp.StatusCode(), 409, resp.Body, "/problems/already-reserved")
		if p.ReservationStatus == nil || *p.ReservationStatus != "confirmed" {
			t.Fatalf("problem %s", resp.Body)
		}
	})
}

func TestReserveRateLimit(t *testing.T) {
	h := newHarness(t, withRateLimit(1, 3))
	h.initialize(100)
	// alice's first reserve proves nobody, so it is not counted as hers
	// (strangers could use up her attempts): the burst is all her own.
	h.hold("alice")
	for i := range 3 { // the burst: 409s, but not limited
		if resp := h.reserve("alice"); resp.StatusCode() != 409 {
			t.Fatalf("attempt %d with her token: %d %s", i+1, resp.StatusCode(), resp.Body)
		}
	}
	resp := h.reserve("alice")
	wantProblem(t, resp.StatusCode(), 429, resp.Body, "/problems/rate-limited")
	if got := resp.HTTPResponse.Header.Get("Retry-After"); got != "1" {
		t.Fatalf("Retry-After %q, want 1", got)
	}
	// Limits are per user: another user is not slowed by alice.
	h.hold("bob")
	// A token comes back after a second of (fake) time.
	h.clock.Advance(time.Second)
	if resp := h.reserve("alice"); resp.StatusCode() != 409 {
		t.Fatalf("after refill: %d %s", resp.StatusCode(), resp.Body)
	}
}

func TestStatus(t *testing.T) {
	h := newHarness(t)
	if got, want := h.status(), (generated.Status{}); got != want {
		t.Fatalf("before initialize %+v, want zeros", got)
	}
	h.initialize(3)
	a := h.hold("a")
	h.hold("b")
	h.hold("c")
	h.reserve("d")
	if _, err := h.client.ConfirmReservationWithResponse(h.ctx(), a.ReservationId, nil); err != nil {
		t.Fatal(err)
	}
	want := generated.Status{Phase: generated.StatusPhaseOpen, Initialized: true, TotalInventory: 3, Available: 0, Held: 2, Confirmed: 1, WaitlistSize: 1}
	if got := h.status(); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// Expired holds are never counted as held: b and c expire, d is promoted.
	h.clock.Advance(holdTTL)
	want = generated.Status{Phase: generated.StatusPhaseOpen, Initialized: true, TotalInventory: 3, Available: 1, Held: 1, Confirmed: 1, WaitlistSize: 0}
	if got := h.status(); got != want {
		t.Fatalf("after expiry %+v, want %+v", got, want)
	}
}

func TestGetReservation(t *testing.T) {
	h := newHarness(t)
	h.initialize(1)
	held := h.hold("alice")
	resp, err := h.client.GetReservationWithResponse(h.ctx(), held.ReservationId)
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("%v %s", err, resp.Body)
	}
	want := generated.Reservation{ReservationId: held.ReservationId, UserId: "alice", Status: "held", CreatedAt: epoch, ExpiresAt: epoch.Add(holdTTL)}
	if got := *resp.JSON200; got.ReservationId != want.ReservationId || got.Status != want.Status ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || got.UserId != want.UserId {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	h.clock.Advance(holdTTL)
	resp, _ = h.client.GetReservationWithResponse(h.ctx(), held.ReservationId)
	if resp.JSON200 == nil || resp.JSON200.Status != "expired" {
		t.Fatalf("after TTL: %s", resp.Body)
	}
	// Asked by a shopper, as a reservation id is only asked about with a
	// token: unknown is 404, malformed 400.
	resp, _ = h.client.GetReservationWithResponse(h.ctx(), "AAAAAAAAAAAAAAAAAAAAAA", h.as("alice"))
	wantProblem(t, resp.StatusCode(), 404, resp.Body, "/problems/reservation-not-found")
	for _, bad := range []string{"short", "AAAAAAAAAAAAAAAAAAAAA%21", strings.Repeat("A", 23)} {
		r, b := h.raw("GET", "/reservations/"+bad, "", nil, "Authorization", "Bearer "+h.token("alice"))
		wantProblem(t, r.StatusCode, 400, b, "/problems/invalid-request")
	}
}

func TestConfirm(t *testing.T) {
	h := newHarness(t)
	h.initialize(3)
	ctx := h.ctx()
	a, b, c := h.hold("a"), h.hold("b"), h.hold("c")

	resp, err := h.client.ConfirmReservationWithResponse(ctx, a.ReservationId, nil)
	if err != nil || resp.JSON200 == nil || resp.JSON200.Status != "confirmed" {
		t.Fatalf("confirm: %v %s", err, resp.Body)
	}
	resp, _ = h.client.ConfirmReservationWithResponse(ctx, a.ReservationId, nil)
	if resp.JSON200 == nil || resp.JSON200.Status != "confirmed" {
		t.Fatalf("repeat confirm must answer 200 again: %d %s", resp.StatusCode(), resp.Body)
	}

	if _, err := h.client.CancelReservationWithResponse(ctx, b.ReservationId, nil); err != nil {
		t.Fatal(err)
	}
	resp, _ = h.client.ConfirmReservationWithResponse(ctx, b.ReservationId, nil)
	p := wantProblem(t, resp.StatusCode(), 409, resp.Body, "/problems/hold-cancelled")
	if p.ReservationStatus == nil || *p.ReservationStatus != "cancelled" {
		t.Fatalf("%s", resp.Body)
	}

	h.clock.Set(c.ExpiresAt.Add(-time.Nanosecond))
	if r, _ := h.client.GetReservationWithResponse(ctx, c.ReservationId); r.JSON200 == nil || r.JSON200.Status != "held" {
		t.Fatalf("1ns before expiry: %s", r.Body)
	}
	h.clock.Set(c.ExpiresAt) // expired at expires_at exactly
	resp, _ = h.client.ConfirmReservationWithResponse(ctx, c.ReservationId, nil)
	wantProblem(t, resp.StatusCode(), 409, resp.Body, "/problems/hold-expired")

	resp, _ = h.client.ConfirmReservationWithResponse(ctx, "AAAAAAAAAAAAAAAAAAAAAA", nil, h.as("a"))
	wantProblem(t, resp.StatusCode(), 404, resp.Body, "/problems/reservation-not-found")
}

func TestCancel(t *testing.T) {
	h := newHarness(t)
	h.initialize(2)
	ctx := h.ctx()
	a, b := h.hold("a"), h.hold("b")
	if w := h.reserve("w"); testkit.Waitlisted(w) == nil {
		t.Fatalf("%s", w.Body)
	}

	resp, err := h.client.CancelReservationWithResponse(ctx, a.ReservationId, nil)
	if err != nil || resp.JSON200 == nil || resp.JSON200.Status != "cancelled" {
		t.Fatalf("cancel: %v %s", err, resp.Body)
	}
	// The unit went to the next in line, who now holds it.
	w := userAs[generated.UserHeld](h, "w")
	resp, _ = h.client.CancelReservationWithResponse(ctx, a.ReservationId, nil)
	if resp.JSON200 == nil || resp.JSON200.Status != "cancelled" {
		t.Fatalf("repeat cancel must answer 200 again: %d %s", resp.StatusCode(), resp.Body)
	}

	if _, err := h.client.ConfirmReservationWithResponse(ctx, b.ReservationId, nil); err != nil {
		t.Fatal(err)
	}
	resp, _ = h.client.CancelReservationWithResponse(ctx, b.ReservationId, nil)
	wantProblem(t, resp.StatusCode(), 409, resp.Body, "/problems/already-confirmed")

	h.clock.Advance(holdTTL) // w's hold expires
	resp, _ = h.client.CancelReservationWithResponse(ctx, w.Reservation.ReservationId, nil)
	wantProblem(t, resp.StatusCode(), 409, resp.Body, "/problems/hold-expired")

	resp, _ = h.client.CancelReservationWithResponse(ctx, "AAAAAAAAAAAAAAAAAAAAAA", nil, h.as("a"))
	wantProblem(t, resp.StatusCode(), 404, resp.Body, "/problems/reservation-not-found")

	if st := h.status(); st.Available != 1 || st.Held != 0 || st.Confirmed != 1 {
		t.Fatalf("books %+v", st)
	}
}

func TestGetUser(t *testing.T) {
	h := newHarness(t)
	h.initialize(1)
	ctx := h.ctx()
	// A user who never reserved has no token: the operator asks.
	if u := userAs[generated.UserNone](h, "nobody", asAdmin); u.Reservation != nil {
		t.Fatalf("unknown user %+v", u)
	}
	a := h.hold("a")
	h.reserve("b")
	h.reserve("c")
	if u := userAs[generated.UserHeld](h, "a"); u.Reservation.ReservationId != a.ReservationId {
		t.Fatalf("holder %+v", u)
	}
	if u := userAs[generated.UserWaiting](h, "c"); u.WaitlistPosition != 2 {
		t.Fatalf("waiting %+v", u)
	}
	// a's hold expires: b is promoted, c moves up to 1, a is none with the expired hold.
	h.clock.Advance(holdTTL)
	b := userAs[generated.UserHeld](h, "b")
	if !b.Reservation.ExpiresAt.Equal(epoch.Add(2 * holdTTL)) {
		t.Fatalf("promoted %+v", b)
	}
	if u := userAs[generated.UserWaiting](h, "c"); u.WaitlistPosition != 1 {
		t.Fatalf("c did not move up: %+v", u)
	}
	if u := userAs[generated.UserNone](h, "a"); u.Reservation == nil || u.Reservation.Status != generated.ReservationStatusExpired {
		t.Fatalf("expired holder %+v", u)
	}
	if _, err := h.client.ConfirmReservationWithResponse(ctx, b.Reservation.ReservationId, nil); err != nil {
		t.Fatal(err)
	}
	if u := userAs[generated.UserConfirmed](h, "b"); u.Reservation.Status != generated.ReservationStatusConfirmed {
		t.Fatalf("buyer %+v", u)
	}
	for _, bad := range []string{strings.Repeat("x", 129), "a%20b", "%C3%A9", "a%00"} {
		r, body := h.raw("GET", "/users/"+bad, "", nil, "Authorization", "Bearer "+adminToken)
		wantProblem(t, r.StatusCode, 400, body, "/problems/invalid-request")
	}
}

func TestLeaveWaitlist(t *testing.T) {
	h := newHarness(t)
	h.initialize(1)
	ctx := h.ctx()
	h.hold("a")
	h.reserve("b")
	h.reserve("c")
	resp, err := h.client.LeaveWaitlistWithResponse(ctx, "b")
	if err != nil || resp.StatusCode() != http.StatusNoContent {
		t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
	}
	if u := userAs[generated.UserWaiting](h, "c"); u.WaitlistPosition != 1 {
		t.Fatalf("c did not move up: %+v", u)
	}
	// b (who left) and a (who holds) with their own tokens; nobody, who
	// has none, by the operator.
	for _, c := range []struct {
		user    string
		editors []generated.RequestEditorFn
	}{{"b", nil}, {"a", nil}, {"nobody", []generated.RequestEditorFn{asAdmin}}} {
		resp, _ := h.client.LeaveWaitlistWithResponse(ctx, c.user, c.editors...)
		wantProblem(t, resp.StatusCode(), 404, resp.Body, "/problems/not-waiting")
	}
	r, body := h.raw("DELETE", "/waitlist/"+strings.Repeat("x", 200), "", nil, "Authorization", "Bearer "+adminToken)
	wantProblem(t, r.StatusCode, 400, body, "/problems/invalid-request")
}

func TestOperationalEndpoints(t *testing.T) {
	h := newHarness(t)
	health, err := h.client.GetHealthWithResponse(h.ctx())
	if err != nil || health.JSON200 == nil || health.JSON200.Status != "ok" {
		t.Fatalf("healthz: %v %s", err, health.Body)
	}
	h.initialize(1)
	h.hold("a")

	resp, body := h.raw("GET", "/metrics", "", nil)
	wantStatus(t, resp.StatusCode, 200, body)
	for _, want := range []string{
		`flashsale_http_requests_total{code="201",method="POST",route="/reserve"} 1`,
		"flashsale_holds_active 1",
		"flashsale_inventory_available 0",
		"flashsale_http_request_duration_seconds_bucket",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	resp, body = h.raw("GET", "/openapi.yaml", "", nil)
	wantStatus(t, resp.StatusCode, 200, body)
	if !strings.HasPrefix(string(body), "openapi: 3.0.3") {
		t.Errorf("/openapi.yaml starts %q", body[:min(len(body), 40)])
	}

	resp, body = h.raw("GET", "/docs/", "", nil)
	wantStatus(t, resp.StatusCode, 200, body)
	if !strings.Contains(string(body), "swagger-ui") || !strings.Contains(string(body), "/openapi.yaml") {
		t.Errorf("/docs/ is not Swagger UI pointing at /openapi.yaml")
	}
	if strings.Contains(string(body), "cdn") || strings.Contains(string(body), "unpkg") {
		t.Errorf("/docs/ loads assets from a CDN")
	}
	resp, body = h.raw("GET", "/docs/swagger-ui-bundle.js", "", nil)
	wantStatus(t, resp.StatusCode, 200, body)
}

func TestUnknownRouteAndMethod(t *testing.T) {
	h := newHarness(t)
	resp, body := h.raw("GET", "/nope", "", nil)
	wantProblem(t, resp.StatusCode, 404, body, "/problems/not-found")

	resp, body = h.raw("PUT", "/status", "application/json", strings.NewReader("{}"))
	wantProblem(t, resp.StatusCode, 405, body, "/problems/method-not-allowed")
	if got := resp.Header.Get("Allow"); got != "GET, HEAD" {
		t.Fatalf("Allow %q", got)
	}
	resp, body = h.raw("GET", "/reserve", "", nil)
	wantProblem(t, resp.StatusCode, 405, body, "/problems/method-not-allowed")
	if got := resp.Header.Get("Allow"); got != "POST" {
		t.Fatalf("Allow %q", got)
	}
}
