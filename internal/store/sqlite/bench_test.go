package sqlite_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/membench"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
	"github.com/flashsale/flashsale/internal/store/sqlite"
	"github.com/flashsale/flashsale/internal/store/storebench"
)

// The SQLite store's benchmarks, for `make bench-sqlite`:
//
//	go test ./internal/store/sqlite -run '^$' -bench GroupCommit -benchtime 3s
//	go test ./internal/store/sqlite -run '^$' -bench Restart1MWaiting -benchtime 1x -timeout 30m
//
// Every commit waits for fsync, so the figures are the disk's as much as the
// code's: the files go under the system's temporary folder ($TMPDIR), which
// must not be a tmpfs for them to mean anything.

// benchTTL outlasts any benchmark, so that no hold expires while one runs
// and every reopen of a file finds the same sale.
const benchTTL = time.Hour

func openBench(b *testing.B, path string) *store.Store {
	b.Helper()
	s, err := sqlite.Open(context.Background(), path, sale.Config{HoldTTL: benchTTL})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkGroupCommit: see storebench.GroupCommit. conns=1 is one
// transaction and one fsync per call.
func BenchmarkGroupCommit(b *testing.B) {
	storebench.GroupCommit(b, func(b *testing.B) *store.Store {
		return openBench(b, filepath.Join(b.TempDir(), "sale.db"))
	})
}

// BenchmarkRestart1MWaiting times the start of a server whose file holds a
// sold-out sale of 1,000 units with 1,000,000 users in line: sqlite.Open
// replays every event since the reset and rebuilds holds, accounts, the
// line and the expiry schedule. It reports the seconds that takes, the Go
// heap the rebuilt sale keeps per waiting user, and the file's bytes per
// user.
//
// The file is written by the store itself, from 512 goroutines reserving
// at once (big batches, so that building it takes seconds, not an hour of
// fsyncs); its events are the ones any server under that crowd commits.
//
//   - after-crash: a copy of the database and its WAL taken while the
//     builder still has them open, which is what kill -9 leaves behind; the
//     open must recover the WAL first.
//   - after-close: the same sale after the builder closed cleanly (WAL
//     checkpointed into the database).
func BenchmarkRestart1MWaiting(b *testing.B) {
	const (
		units   = 1_000
		waiting = 1_000_000
		workers = 512
	)
	dir := b.TempDir()
	clean, crashed := filepath.Join(dir, "sale.db"), filepath.Join(dir, "crashed.db")
	buildWaiting(b, clean, crashed, units, waiting, workers)
	ctx := context.Background()

	for _, c := range []struct{ name, path string }{{"after-crash", crashed}, {"after-close", clean}} {
		b.Run(c.name, func(b *testing.B) {
			size, err := fileSize(c.path)
			if err != nil {
				b.Fatal(err)
			}
			for range b.N {
				b.StopTimer()
				heap0 := membench.HeapInUse()
				b.StartTimer()
				start := time.Now()
				s := openBench(b, c.path)
				took := time.Since(start)
				b.StopTimer()
				heap1 := membench.HeapInUse()
				got, err := s.Status(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if want := (sale.Status{Initialized: true, Total: units, Held: units, Waiting: waiting, Phase: sale.PhaseOpen}); got != want {
					b.Fatalf("rebuilt %+v, want %+v", got, want)
				}
				if u, err := s.User(ctx, "user-"+strconv.Itoa(units+waiting)); err != nil || u.Position != waiting {
					b.Fatalf("the last user: %+v, %v; want position %d", u, err, waiting)
				}
				b.ReportMetric(took.Seconds(), "s/open")
				b.ReportMetric(float64(heap1-heap0)/waiting, "heap-B/user")
				b.ReportMetric(float64(size)/waiting, "file-B/user")
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// buildWaiting fills the sale at path through the store: units holds, then
// waiting users in line, reserved by workers goroutines at once. It copies
// the files to crashPath before closing. The builder's state is dropped on
// return, so that it is not counted in the heap of the rebuilt sale.
func buildWaiting(b *testing.B, path, crashPath string, units, waiting int64, workers int) {
	b.Helper()
	start := time.Now()
	s := openBench(b, path)
	ctx := context.Background()
	if _, err := sale.Initialize(ctx, s, units, false); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	failed := make(chan error, 1)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := next.Add(1); i <= units+waiting; i = next.Add(1) {
				if _, err := sale.Reserve(ctx, s, "user-"+strconv.FormatInt(i, 10)); err != nil {
					select {
					case failed <- fmt.Errorf("reserve user-%d: %w", i, err):
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-failed:
		b.Fatal(err)
	default:
	}
	st := s.Stats()
	// Every call has been answered, so everything is committed: the files
	// as they are now are what a kill -9 at this moment would leave.
	for _, suffix := range []string{"", "-wal"} {
		if err := copyFile(path+suffix, crashPath+suffix); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d holds and %d waiting in %s: %d batches, mean %.0f calls, max %d",
		units, waiting, time.Since(start).Round(time.Millisecond), st.Batches, float64(st.Calls)/float64(st.Batches), st.MaxBatch)
}

// TestBigBatchSurvivesReopen: one call whose events fill several INSERT
// chunks (a restock that promotes 300 waiting users emits 301 events in one
// batch) is written whole and in order. It lives here, beside the benchmarks
// that drive the same path at scale.
func TestBigBatchSurvivesReopen(t *testing.T) {
	const n = 300
	path := filepath.Join(t.TempDir(), "sale.db")
	s, err := sqlite.Open(t.Context(), path, sale.Config{HoldTTL: benchTTL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sale.Initialize(t.Context(), s, 0, false); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := sale.Reserve(t.Context(), s, "w"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sale.Initialize(t.Context(), s, n, false); err != nil {
		t.Fatal(err)
	}
	holds := make(map[string]sale.Reservation, n)
	for i := range n {
		u, err := s.User(t.Context(), "w"+strconv.Itoa(i))
		if err != nil || u.State != sale.Holding {
			t.Fatalf("w%d after the restock: %+v, %v", i, u, err)
		}
		holds[u.UserID] = *u.Reservation
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(t.Context(), path, sale.Config{HoldTTL: benchTTL})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Status(t.Context())
	if err != nil || st != (sale.Status{Initialized: true, Total: n, Held: n, Phase: sale.PhaseOpen}) {
		t.Fatalf("reopened: %+v, %v", st, err)
	}
	for id, want := range holds {
		u, err := s.User(t.Context(), id)
		if err != nil || u.Reservation == nil || *u.Reservation != want {
			t.Fatalf("%s reopened: %+v, %v; want %+v", id, u, err, want)
		}
	}
}

// fileSize is the database's bytes, its WAL included.
func fileSize(path string) (int64, error) {
	var n int64
	for _, suffix := range []string{"", "-wal"} {
		st, err := os.Stat(path + suffix)
		if err != nil {
			if suffix != "" && os.IsNotExist(err) {
				continue
			}
			return 0, err
		}
		n += st.Size()
	}
	return n, nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	return nil
}
