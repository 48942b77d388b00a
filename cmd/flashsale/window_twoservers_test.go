package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/testkit"
	"github.com/jackc/pgx/v5"
)

// TestWindowTwoServersOneDraw: two servers on one PostgreSQL database,
// each sweeping every 50ms, and a sale scheduled to open in a few seconds
// with 200 shoppers in its pre-queue, queued through both. Nobody asks
// anything at the opening: the sweepers race for the draw. There is one
// draw event in the journal; both servers reveal the same seed, whose
// SHA-256 is the commitment; the entrants both export are the 200; every
// user reads the same on both; and the order they read is the one
// `flashsale draw` recomputes from the seed and the export (and the one
// HMAC-SHA256 gives, computed here).
func TestWindowTwoServersOneDraw(t *testing.T) {
	const inventory, shoppers, workers = 20, 200, 20
	const lead = 2500 * time.Millisecond
	dsn := pgtest.Schema(t)
	bin := serverbin.Path(t)
	servers := []*testkit.Process{
		testkit.StartProcess(t, bin, postgresArgs(dsn, "--sweep-interval", "50ms")...),
		testkit.StartProcess(t, bin, postgresArgs(dsn, "--sweep-interval", "50ms")...),
	}
	urls := []string{servers[0].URL, servers[1].URL}
	admins := []*generated.ClientWithResponses{
		typedClient(t, urls[0], adminClient(pgAdmin, 10*time.Second)),
		typedClient(t, urls[1], adminClient(pgAdmin, 10*time.Second)),
	}

	opens := time.Now().Add(lead).UTC().Truncate(time.Microsecond)
	st := schedule(t, urls[0], pgAdmin, fmt.Sprintf(`{"total_inventory":%d,"opens_at":"%s"}`, inventory, stampUS(opens)))
	if st.Phase != generated.StatusPhaseScheduled || st.DrawCommitment == nil || st.DrawSeed != nil || !st.OpensAt.Equal(opens) {
		t.Fatalf("scheduled: %+v", st)
	}
	commitment := *st.DrawCommitment
	if other := mustStatus(t, admins[1]); other.DrawCommitment == nil || *other.DrawCommitment != commitment || !other.OpensAt.Equal(opens) {
		t.Fatalf("the other server: %+v", other)
	}

	users := make([]string, shoppers)
	for i := range users {
		users[i] = fmt.Sprintf("shopper-%03d", i)
	}
	queueAll(t, urls, users, workers, commitment)
	t.Logf("%d shoppers queued through two servers %v before the opening", shoppers, time.Until(opens).Round(time.Millisecond))
	if left := time.Until(opens); left < 200*time.Millisecond {
		t.Fatalf("queueing %d shoppers left %v before the opening: too little to be sure all queued before it; lengthen lead", shoppers, left)
	}
	for _, c := range admins {
		if st := mustStatus(t, c); st.Phase != generated.StatusPhaseScheduled || st.PrequeueSize != shoppers || st.Held != 0 {
			t.Fatalf("before the opening: %+v", st)
		}
	}

	// Nobody asks at the opening: the sweepers make the draw.
	time.Sleep(time.Until(opens) + time.Second)
	var draws int
	var drawnAt time.Time
	pgQuery(t, dsn, `SELECT count(*), coalesce(min(at), 'epoch') FROM sale_events WHERE kind = 'drawn'`, &draws, &drawnAt)
	if draws != 1 || !drawnAt.Equal(opens) {
		t.Fatalf("%d draw events in the journal a second after the opening (the first stamped %v), want one stamped %v", draws, drawnAt, opens)
	}

	seeds := [2]string{}
	for i, c := range admins {
		st := mustStatus(t, c)
		seeds[i] = wantSeed(t, st, commitment)
		if st.Held != inventory || st.Available != 0 || st.WaitlistSize != shoppers-inventory || st.PrequeueSize != 0 || !st.OpensAt.Equal(opens) {
			t.Errorf("server %d after the draw: %+v", i, st)
		}
	}
	if seeds[0] != seeds[1] {
		t.Fatalf("the servers reveal different seeds: %s and %s", seeds[0], seeds[1])
	}
	entrants := entrantsOf(t, urls[0], pgAdmin)
	if other := entrantsOf(t, urls[1], pgAdmin); !slices.Equal(entrants, other) {
		t.Fatalf("the servers export different entrants: %d and %d", len(entrants), len(other))
	}
	if !slices.Equal(entrants, users) { // users are in id order
		t.Fatalf("the export has %d entrants, want the %d queued, sorted by id", len(entrants), len(users))
	}

	order := drawnOrder(t, bin, seeds[0], commitment, entrants)
	if mine := hmacOrder(t, seeds[0], entrants); !slices.Equal(order, mine) {
		t.Fatalf("flashsale draw and HMAC-SHA256 computed here disagree:\n%q\n%q", order[:5], mine[:5])
	}
	got := [2]map[string]standing{standings(t, urls[0], pgAdmin, users, workers), standings(t, urls[1], pgAdmin, users, workers)}
	if !maps.Equal(got[0], got[1]) {
		for _, u := range users {
			if got[0][u] != got[1][u] {
				t.Errorf("%s is %s on one server and %s on the other", u, got[0][u], got[1][u])
			}
		}
		t.FailNow()
	}
	wantDrawn(t, got[0], order, inventory, opens, crashHoldTTL)
	var promoted int
	pgQuery(t, dsn, `SELECT count(*) FROM sale_events WHERE kind = 'promoted'`, &promoted)
	if promoted != inventory {
		t.Errorf("%d promotions in the journal, want %d: one per unit, at the draw", promoted, inventory)
	}
}

// pgQuery runs a query of one row on dsn's database, as another program
// would, scanning it into dest.
func pgQuery(t *testing.T, dsn, query string, dest ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, query).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
