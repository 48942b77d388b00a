package main

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/testkit"
)

// The kill test's sale: enough entrants that their draw takes a while to
// make and to write, units for some of them, holds that outlast the test.
const (
	killEntrants = 20000
	killUnits    = 100
	killWorkers  = 32
	killAdmin    = "kill"
)

// TestWindowDrawSurvivesKill9: a sale on SQLite scheduled with 20,000
// shoppers in its pre-queue; while a reader polls /status and the sweeper
// runs every 10ms, the server is killed with SIGKILL a few milliseconds
// after the opening, around the draw, and started again on the same file.
// Whether the draw was committed before the kill or is made after the
// restart, there is one, with the seed committed to (the one the reader
// saw, if it saw one), and the order the users read is what `flashsale
// draw` recomputes; a second kill and restart change nothing, the
// reservation ids included.
func TestWindowDrawSurvivesKill9(t *testing.T) {
	bin := serverbin.Path(t)
	db := filepath.Join(t.TempDir(), "sale.db")
	args := []string{"--store", "sqlite", "--db", db, "--admin-token", killAdmin, "--hold-ttl", crashHoldTTL.String(),
		"--rate-limit", "0", "--new-shopper-rate", "0", "--sweep-interval", "10ms"}
	srv := testkit.StartProcess(t, bin, args...)
	began := time.Now()

	// Scheduled far ahead while the crowd queues, then moved close.
	st := schedule(t, srv.URL, killAdmin, fmt.Sprintf(`{"total_inventory":%d,"opens_at":"%s"}`, killUnits, stampUS(time.Now().Add(time.Hour))))
	if st.DrawCommitment == nil {
		t.Fatalf("scheduled: %+v", st)
	}
	commitment := *st.DrawCommitment
	users := make([]string, killEntrants)
	for i := range users {
		users[i] = fmt.Sprintf("u%05d", i)
	}
	queueAll(t, []string{srv.URL}, users, killWorkers, commitment)
	t.Logf("%d shoppers queued in %v", killEntrants, time.Since(began).Round(time.Millisecond))
	opens := time.Now().Add(300 * time.Millisecond).UTC().Truncate(time.Microsecond)
	if st := schedule(t, srv.URL, killAdmin, `{"total_inventory":`+fmt.Sprint(killUnits)+`,"opens_at":"`+stampUS(opens)+`"}`); !st.OpensAt.Equal(opens) || *st.DrawCommitment != commitment || st.PrequeueSize != killEntrants {
		t.Fatalf("the opening moved: %+v", st)
	}

	// A reader polls /status all along, and makes the draw if the sweeper
	// does not.
	var (
		seen     atomic.Pointer[generated.Status] // the first status with a seed
		seenAt   time.Time                        // when it came; read once the reader is done
		stop     = make(chan struct{})
		readerWG sync.WaitGroup
	)
	reader := newBareClient(t, srv.URL)
	readerWG.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			r, err := reader.GetStatusWithResponse(context.Background())
			if err != nil {
				return // killed
			}
			if r.JSON200 != nil && r.JSON200.DrawSeed != nil && seen.Load() == nil {
				seenAt = time.Now()
				seen.Store(r.JSON200)
			}
		}
	})
	// The draw of 20,000 takes a few milliseconds: aimed from 2ms before
	// the opening to 6ms after it, the kill comes before the draw, during
	// it (committed but not answered, or not committed) or just after it.
	jitter := time.Duration(rand.Int64N(int64(8*time.Millisecond))) - 2*time.Millisecond
	time.Sleep(time.Until(opens) + jitter)
	signalled := time.Now()
	srv.Kill(t)
	gone := time.Now()
	close(stop)
	readerWG.Wait()
	before := drawsIn(t, db)
	switch s := seen.Load(); {
	case s != nil && before != 1:
		t.Fatalf("the reader was shown the seed %s before the kill, but the file has %d draws", *s.DrawSeed, before)
	case before > 1:
		t.Fatalf("%d draws in the file", before)
	}
	outcome := "made before the kill"
	if before == 0 {
		outcome = "not committed at the kill"
	}
	saw := "no seed"
	if seen.Load() != nil {
		saw = fmt.Sprintf("the seed %v after the opening", seenAt.Sub(opens).Round(100*time.Microsecond))
	}
	t.Logf("SIGKILL sent %v after the opening (aimed at %v), the server gone %v after it; the draw was %s; the reader saw %s",
		signalled.Sub(opens).Round(100*time.Microsecond), jitter.Round(100*time.Microsecond),
		gone.Sub(signalled).Round(100*time.Microsecond), outcome, saw)

	// Restarted: the draw is there, or is made now, with the seed
	// committed to.
	srv = testkit.StartProcess(t, bin, args...)
	admin := typedClient(t, srv.URL, adminClient(killAdmin, 30*time.Second))
	st = mustStatus(t, admin)
	seed := wantSeed(t, st, commitment)
	if s := seen.Load(); s != nil && *s.DrawSeed != seed {
		t.Fatalf("the reader was shown the seed %s before the kill; after it, %s", *s.DrawSeed, seed)
	}
	if st.Held != killUnits || st.WaitlistSize != killEntrants-killUnits || !st.OpensAt.Equal(opens) {
		t.Fatalf("after the restart: %+v", st)
	}
	entrants := entrantsOf(t, srv.URL, killAdmin)
	if !slices.Equal(entrants, users) {
		t.Fatalf("the export has %d entrants, want the %d queued, sorted by id", len(entrants), len(users))
	}
	order := drawnOrder(t, bin, seed, commitment, entrants)
	if mine := hmacOrder(t, seed, entrants); !slices.Equal(order, mine) {
		t.Fatalf("flashsale draw and HMAC-SHA256 computed here disagree")
	}
	first := standings(t, srv.URL, killAdmin, users, killWorkers)
	wantDrawn(t, first, order, killUnits, opens, crashHoldTTL)
	t.Logf("after the restart, the order checked at %v", time.Since(began).Round(time.Millisecond))

	// Killed and restarted again: the same seed, everyone where they were.
	srv.Kill(t)
	srv = testkit.StartProcess(t, bin, args...)
	admin = typedClient(t, srv.URL, adminClient(killAdmin, 30*time.Second))
	if again := wantSeed(t, mustStatus(t, admin), commitment); again != seed {
		t.Fatalf("the seed was %s; after a second restart, %s", seed, again)
	}
	second := standings(t, srv.URL, killAdmin, users, killWorkers)
	if !maps.Equal(first, second) {
		n := 0
		for _, u := range users {
			if first[u] != second[u] {
				if n++; n <= 10 {
					t.Errorf("%s was %s; after a second restart, %s", u, first[u], second[u])
				}
			}
		}
		t.FailNow()
	}
	srv.Stop(t)
	if n := drawsIn(t, db); n != 1 {
		t.Fatalf("%d draw events in the file, want 1", n)
	}
	t.Logf("the whole test took %v", time.Since(began).Round(time.Millisecond))
}

// drawsIn counts the draw events in the SQLite file at path, read from a
// copy (the file, its WAL and its index), so that whatever recovery the
// server does on its next start is its own.
func drawsIn(t *testing.T, path string) int {
	t.Helper()
	dir := t.TempDir()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "copy.db"+suffix), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := sql.Open("sqlite", filepath.Join(dir, "copy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow(`SELECT count(*) FROM sale_events WHERE kind = 'drawn'`).Scan(&n); err != nil {
		t.Fatalf("count the draws in a copy of %s: %v", path, err)
	}
	return n
}
