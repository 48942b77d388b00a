// Package storebench holds the benchmarks every durable backend of
// internal/store runs the same way, so that their figures compare: a
// backend's bench_test.go calls them with a function that opens a store.
package storebench

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

// GroupCommit reserves for distinct users from 1, 64 and 512 goroutines at
// once, each call answered only after its batch is committed, and reports
// calls/s, the batch sizes the writer formed, the time per batch and this
// process's CPU per call. The sale sells out after 1,000 units, as in `make
// bench-http`, so nearly every call joins the line. conns=1 is the naive
// figure, one transaction and one commit per call. The ",key" runs give
// every call its own idempotency key: the journal then also reads the
// batch's keys and keeps their answers, in the same transaction. open makes
// a fresh store for each sub-benchmark; GroupCommit closes it.
func GroupCommit(b *testing.B, open func(b *testing.B) *store.Store) {
	for _, conns := range []int{1, 64, 512} {
		for _, keyed := range []bool{false, true} {
			name := "conns=" + strconv.Itoa(conns)
			if keyed {
				name += ",key"
			}
			b.Run(name, func(b *testing.B) { groupCommit(b, open, conns, keyed) })
		}
	}
}

func groupCommit(b *testing.B, open func(b *testing.B) *store.Store, conns int, keyed bool) {
	s := open(b)
	defer s.Close()
	ctx := context.Background()
	if _, err := sale.Initialize(ctx, s, 1000, false); err != nil {
		b.Fatal(err)
	}
	var next atomic.Uint64
	reserve := func() bool {
		id := "u-" + strconv.FormatUint(next.Add(1), 36)
		key := ""
		if keyed {
			key = "3f8a1c2e-" + id
		}
		ans, err := s.Do(ctx, sale.Call{Op: sale.OpReserve, UserID: id}, key)
		if err == nil {
			err = ans.Err
		}
		if err != nil {
			b.Errorf("reserve %s: %v", id, err)
			return false
		}
		return true
	}
	before := s.Stats()
	cpu0 := ProcessCPU(b)
	b.ResetTimer()
	start := time.Now()
	if conns == 1 {
		for range b.N {
			if !reserve() {
				return
			}
		}
	} else {
		// RunParallel starts parallelism × GOMAXPROCS goroutines.
		b.SetParallelism((conns + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() && reserve() {
			}
		})
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := ProcessCPU(b) - cpu0
	after := s.Stats()
	batches, calls := after.Batches-before.Batches, after.Calls-before.Calls
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	if batches > 0 {
		b.ReportMetric(float64(calls)/float64(batches), "calls/batch")
		b.ReportMetric(float64((after.CommitTime-before.CommitTime).Microseconds())/float64(batches), "µs/batch")
	}
	b.ReportMetric(float64(after.MaxBatch), "max-batch")
	// Wall time per call moves with the disk and with whatever else
	// runs on the machine; CPU per call much less, so it is the
	// figure to compare two versions of the write path by. A
	// database's own CPU is not in it.
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu-µs/call")
}

// ProcessCPU is the user and system CPU time this process has used.
func ProcessCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
