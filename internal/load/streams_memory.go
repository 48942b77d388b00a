package load

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// memSample is the server's memory at one moment: what the kernel charges
// it (RSS) and what the Go runtime says it uses for the heap and for
// goroutine stacks, the part that grows with each open stream.
type memSample struct {
	rss        int64 // bytes; 0 when /proc is not available
	heapInuse  float64
	stackInuse float64
	goroutines float64
}

func (m memSample) heapStack() float64 { return m.heapInuse + m.stackInuse }

// The Go collector's series the bench reads from /metrics.
const (
	heapInuseSeries  = "go_memstats_heap_inuse_bytes"
	stackInuseSeries = "go_memstats_stack_inuse_bytes"
	goroutinesSeries = "go_goroutines"
)

var runtimeSeries = []string{heapInuseSeries, stackInuseSeries, goroutinesSeries}

// sampleMemory reads the server's memory twice, a second apart, and keeps the
// second: connections and goroutines that were just set up have settled by
// then. Nothing is forced (no GC), so the figures are what the server
// carries in ordinary running.
func sampleMemory(ctx context.Context, hc *http.Client, srv *Child) (memSample, error) {
	if _, err := readMemory(ctx, hc, srv); err != nil {
		return memSample{}, err
	}
	select {
	case <-ctx.Done():
		return memSample{}, ctx.Err()
	case <-time.After(time.Second):
	}
	return readMemory(ctx, hc, srv)
}

func readMemory(ctx context.Context, hc *http.Client, srv *Child) (memSample, error) {
	vals, err := scrapeSeries(ctx, hc, srv.URL(), runtimeSeries)
	if err != nil {
		return memSample{}, fmt.Errorf("read the server's memory: %w", err)
	}
	m := memSample{heapInuse: vals[heapInuseSeries], stackInuse: vals[stackInuseSeries], goroutines: vals[goroutinesSeries]}
	m.rss, _ = procRSS(srv.Pid())
	return m, nil
}

// procRSS is VmRSS of /proc/PID/status in bytes.
func procRSS(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v) // "12345 kB"
			if len(f) != 2 || f[1] != "kB" {
				return 0, false
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}
