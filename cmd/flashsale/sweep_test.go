package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
)

// TestSweepReport: a database outage is logged once when it starts and once
// when it ends, not once a second; a failure that is not an outage (a bug)
// each time.
func TestSweepReport(t *testing.T) {
	var buf bytes.Buffer
	report := sweepReport(slog.New(slog.NewTextHandler(&buf, nil)))
	down := fmt.Errorf("%w: connection refused", sale.ErrUnavailable)
	for _, err := range []error{nil, down, down, down, nil, nil, errors.New("bug"), errors.New("bug")} {
		report(err)
	}
	out := buf.String()
	for line, want := range map[string]int{
		"sweeper: the store is unavailable": 1,
		"sweeper: the store is back":        1,
		"sweep expired holds":               2,
	} {
		if got := strings.Count(out, line); got != want {
			t.Errorf("%q logged %d times, want %d; log:\n%s", line, got, want, out)
		}
	}
}
