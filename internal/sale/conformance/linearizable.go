package conformance

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/model"
	"github.com/flashsale/flashsale/internal/sale"
)

// Every history starts at the same instant and holds last three ticks, so a
// hold made early in a history expires in the middle of it.
var (
	linStart = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	linTTL   = 3 * time.Second
)

// seeds lists the seeded histories a linearizability test checks:
// FLASHSALE_LIN_HISTORIES, or def. FLASHSALE_LIN_SEED replays one seed.
func seeds(t testing.TB, def int) []uint64 {
	if s := os.Getenv("FLASHSALE_LIN_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("FLASHSALE_LIN_SEED=%q: %v", s, err)
		}
		return []uint64{seed}
	}
	n := def
	if s := os.Getenv("FLASHSALE_LIN_HISTORIES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("FLASHSALE_LIN_HISTORIES=%q: want a positive number", s)
		}
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i + 1)
	}
	return out
}

// workload is the shape of every history: small enough that porcupine
// checks it in milliseconds. Six users for two units crowd a draw.
func workload(seed uint64) model.Workload {
	return model.Workload{Seed: seed, Clients: 4, OpsPerClient: 40, Users: 6, Inventory: 2, Ticks: 12, Tick: time.Second, Keys: 3, Windows: true}
}

// CheckTimeout bounds one check. A timeout is a failure, as in etcd's
// robustness tests: an unchecked history proves nothing.
const CheckTimeout = 10 * time.Second

// CheckHistory records one seeded history against a fresh store from
// newStore and checks it. On a result other than Ok it writes porcupine's
// HTML timeline and a text account, and returns the timeline's path.
func CheckHistory(t *testing.T, newStore Factory, seed uint64) (porcupine.CheckResult, string) {
	t.Helper()
	w := workload(seed)
	clock := clocktest.New(linStart)
	// The draws' seed is the model's, so that it knows their order.
	s := newStore(t, sale.Config{HoldTTL: linTTL, Clock: clock, Seeds: model.Seeds()})
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	history := model.Record(ctx, s, clock, w)
	checker := model.Checker(linStart, linTTL)
	res := porcupine.CheckOperationsTimeout(checker, history, CheckTimeout)
	if res == porcupine.Ok {
		return res, ""
	}
	_, info := porcupine.CheckOperationsVerbose(checker, history, CheckTimeout)
	dir := os.Getenv("FLASHSALE_PORCUPINE_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("porcupine dir: %v", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-seed-%d.html", sanitize(t.Name()), w.Seed))
	if err := os.WriteFile(strings.TrimSuffix(path, ".html")+".txt", DescribeFailure(checker, history, info), 0o644); err != nil {
		t.Errorf("write history: %v", err)
	}
	if err := porcupine.VisualizePath(checker, info, path); err != nil {
		t.Errorf("write visualization: %v", err)
		return res, ""
	}
	return res, path
}

// Linearizable records random concurrent histories against fresh stores
// from newStore, with holds expiring in the middle of them and sales
// scheduled, drawn at their opening and closed there too, and has
// porcupine check that each has a sequential order, consistent with real
// time, that internal/model (the sale's specification) accepts answer for
// answer. It fails t for every history that has none. histories is how many
// seeds to check unless FLASHSALE_LIN_HISTORIES says otherwise;
// FLASHSALE_LIN_SEED replays one.
func Linearizable(t *testing.T, newStore Factory, histories int) {
	failed := 0
	for _, seed := range seeds(t, histories) {
		if failed == 3 {
			t.Fatalf("stopped after %d failing histories", failed)
		}
		res, path := CheckHistory(t, newStore, seed)
		if res != porcupine.Ok {
			failed++
			t.Errorf("seed %d: history is %s; timeline in %s (replay: FLASHSALE_LIN_SEED=%d FLASHSALE_PORCUPINE_DIR=/tmp/lin go test -run '%s$' ./...)",
				seed, res, path, seed, t.Name())
		}
	}
}

func sanitize(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// DescribeFailure writes a failed history as text: every call in call order,
// then the longest order porcupine could linearize, the model's state after
// it, and the calls it could not place next. The first of those, by return
// time, is usually where the store went wrong.
func DescribeFailure(checker porcupine.Model, history []porcupine.Operation, info porcupine.LinearizationInfo) []byte {
	var text []byte
	sorted := slices.SortedFunc(slices.Values(history), func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
	text = append(text, "history, in call order:\n"...)
	for _, op := range sorted {
		text = fmt.Appendf(text, "  client %d [%d, %d] %s\n", op.ClientId, op.Call, op.Return, checker.DescribeOperation(op.Input, op.Output))
	}
	var longest []porcupine.Operation
	for _, part := range info.PartialLinearizationsOperations() {
		for _, lin := range part {
			if len(lin) > len(longest) {
				longest = lin
			}
		}
	}
	text = fmt.Appendf(text, "\nlongest linearization found (%d of %d calls):\n", len(longest), len(history))
	state := checker.Init()
	placed := map[int64]bool{}
	for _, op := range longest {
		_, state = checker.Step(state, op.Input, op.Output)
		placed[op.Call] = true
		text = fmt.Appendf(text, "  client %d [%d, %d] %s\n", op.ClientId, op.Call, op.Return, checker.DescribeOperation(op.Input, op.Output))
	}
	text = fmt.Appendf(text, "\nmodel state after it: %s\n\ncalls not placed, by return:\n", checker.DescribeState(state))
	rest := slices.SortedFunc(slices.Values(history), func(a, b porcupine.Operation) int { return cmp.Compare(a.Return, b.Return) })
	n := 0
	for _, op := range rest {
		if !placed[op.Call] && n < 8 {
			n++
			text = fmt.Appendf(text, "  client %d [%d, %d] %s\n", op.ClientId, op.Call, op.Return, checker.DescribeOperation(op.Input, op.Output))
		}
	}
	return text
}
