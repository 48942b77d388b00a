package load

import (
	"bufio"
	"strings"
	"testing"
)

const exposition = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 10012
go_memstats_heap_inuse_bytes 4.2e+07
go_memstats_stack_inuse_bytes 8.5e+07
flashsale_http_requests_total{method="POST",route="/reserve",status="202"} 999
`

func TestParseSeries(t *testing.T) {
	m, err := parseSeries(bufio.NewScanner(strings.NewReader(exposition)), runtimeSeries)
	if err != nil {
		t.Fatal(err)
	}
	if m[goroutinesSeries] != 10012 || m[heapInuseSeries] != 42e6 || m[stackInuseSeries] != 85e6 {
		t.Errorf("parsed %v", m)
	}
}

// A server without a series is an error, not a zero that would be printed
// as a figure.
func TestParseSeriesMissing(t *testing.T) {
	if _, err := parseSeries(bufio.NewScanner(strings.NewReader("go_goroutines 1\n")), runtimeSeries); err == nil || !strings.Contains(err.Error(), "no go_memstats_heap_inuse_bytes series") {
		t.Fatalf("err = %v, want the missing series named", err)
	}
}
