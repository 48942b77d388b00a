package postgres_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
	"github.com/flashsale/flashsale/internal/store/postgres"
	"github.com/flashsale/flashsale/internal/store/storebench"
)

func openBench(b *testing.B, dsn string) *store.Store {
	b.Helper()
	s, err := postgres.Open(context.Background(), dsn, sale.Config{HoldTTL: sale.DefaultHoldTTL})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkGroupCommit: see storebench.GroupCommit. Many callers'
// reservations share a transaction (the lock taken, the events inserted,
// the sale row advanced, one commit), which is what lifts the hot row's
// ~1,000 commits/s (docs/benchmarks.md) to tens of thousands of
// reservations/s.
func BenchmarkGroupCommit(b *testing.B) {
	storebench.GroupCommit(b, func(b *testing.B) *store.Store { return openBench(b, pgtest.Schema(b)) })
}

// BenchmarkPosition1MWaiting asks for the place in line of random users
// among 1,000,000 waiting, on a second server that did not make the line:
// each lookup is the read barrier (one query of the sale row, shared by the
// lookups that arrive together) and a rank in the in-memory line. It also
// reports how long a server takes to start on that sale (replaying its
// million events).
func BenchmarkPosition1MWaiting(b *testing.B) {
	const waiting = 1_000_000
	dsn := pgtest.Schema(b)
	ctx := context.Background()
	openBench(b, dsn).Close() // creates the tables
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	for _, q := range []string{
		"INSERT INTO sale_events (seq, kind, at, total) VALUES (1, 'initialized', $1, 0)",
		"INSERT INTO sale_events (seq, kind, at, user_id, position) SELECT g + 1, 'joined', $1, 'user-' || g, g FROM generate_series(1, " + strconv.Itoa(waiting) + ") g",
		"UPDATE sale SET last_seq = " + strconv.Itoa(waiting+1) + " WHERE $1::timestamptz IS NOT NULL",
	} {
		if _, err := conn.Exec(ctx, q, at); err != nil {
			b.Fatal(err)
		}
	}
	conn.Close(ctx)

	start := time.Now()
	s := openBench(b, dsn)
	defer s.Close()
	opened := time.Since(start)
	lookup := func(r *rand.Rand) bool {
		n := 1 + r.IntN(waiting)
		u, err := s.User(ctx, "user-"+strconv.Itoa(n))
		if err != nil || u.Position != int64(n) {
			b.Errorf("user-%d: %+v, %v", n, u, err)
			return false
		}
		return true
	}
	b.Run("one-at-a-time", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			if !lookup(r) {
				return
			}
		}
		b.ReportMetric(opened.Seconds(), "s/open")
	})
	b.Run("64-at-once", func(b *testing.B) {
		b.SetParallelism(32)
		var seed atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(seed.Add(1), 2))
			for pb.Next() && lookup(r) {
			}
		})
	})
}
