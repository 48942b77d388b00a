package httpapi

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/sale"
)

// The document lists the problem types twice: in words, in the table at the
// top of its description, and as ProblemType's enum, which typed clients
// compile against. Both must name the same types, and each type's status
// in the table must be the one the server sends.
func TestProblemTypesAreTheDocumentsTable(t *testing.T) {
	spec, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]int{}
	row := regexp.MustCompile("(?m)^\\| `(/problems/[a-z-]+)` \\| ([0-9]{3}) \\|")
	for _, m := range row.FindAllStringSubmatch(spec.Info.Description, -1) {
		status, _ := strconv.Atoi(m[2])
		table[m[1]] = status
	}
	var enum []string
	for _, v := range spec.Components.Schemas["ProblemType"].Value.Enum {
		enum = append(enum, v.(string))
	}
	rows := slices.Sorted(maps.Keys(table))
	slices.Sort(enum)
	if !slices.Equal(rows, enum) {
		t.Errorf("the description's table lists\n%v\nbut ProblemType's enum is\n%v", rows, enum)
	}

	kinds := []problemKind{
		probInvalid, probUnauthorized, probTokenRequired, probForbidden, probNotFound, probResNotFound, probNotWaiting, probMethod,
		probNotInitialized, probAlreadyReserved, probHoldExpired, probHoldCancelled, probAlreadyConfirmed,
		probInventory, probSaleClosed, probSchedule, probKeyInUse, probKeyMismatch, probTooLarge, probMediaType, probRateLimited,
		probTooManyStreams, probInternal, probUnavailable, probStreamsFull,
	}
	if len(kinds) != len(enum) {
		t.Errorf("%d problem kinds here, %d types in the document", len(kinds), len(enum))
	}
	for _, k := range kinds {
		if got, ok := table[string(k.Type)]; !ok || got != k.Status {
			t.Errorf("%s is sent with %d; the document's table says %d", k.Type, k.Status, got)
		}
	}
}

// Each error of the sale that a handler may be given is answered by one row
// of refusals, whose problem type is /problems/ and the error's kind: the
// kind is written once, in internal/sale, and a client reads it back from
// the type. The few that are no client's answer are left to a 500.
func TestEverySaleErrorIsAnsweredAsItsKind(t *testing.T) {
	notAnswers := map[*sale.Error]string{
		sale.ErrInvalid:        "a caller that skipped the validator: a bug, answered 500",
		sale.ErrEventsGone:     "no handler reads the feed",
		sale.ErrOutcomeUnknown: "comes wrapped in ErrUnavailable, whose row answers it",
	}
	for _, e := range sale.Errors() {
		f, ok := refusalOf(e)
		if why, skip := notAnswers[e]; skip {
			if ok {
				t.Errorf("%v is answered %s, though %s", e, f.kind.Type, why)
			}
			continue
		}
		if !ok {
			t.Errorf("%v (%s) has no row in refusals: a handler given it would answer 500", e, e.Kind())
			continue
		}
		if want := generated.ProblemType("/problems/" + string(e.Kind())); f.kind.Type != want {
			t.Errorf("%v is answered %s, want %s, the type its kind names", e, f.kind.Type, want)
		}
	}
}

// The HTTP layer's own refusals, those of who is asking above all, are
// answered by their rows too, and every 401 carries the challenge RFC 9110
// requires of it.
func TestEveryRefusalOfTheHTTPLayerHasItsRow(t *testing.T) {
	for _, c := range []struct {
		err  error
		want problemKind
	}{
		{&unauthenticated{why: "no token"}, probUnauthorized},
		{&unauthenticated{why: "a bad token", invalid: true}, probUnauthorized},
		{fmt.Errorf("reserve: %w", sale.ErrTokenRequired), probTokenRequired},
		{&forbidden{user: "alice", by: "mallory"}, probForbidden},
		{errNoUser, probInvalid},
		{&rateLimited{user: "alice", wait: time.Second}, probRateLimited},
		{&rateLimited{addr: "192.0.2.1", wait: time.Second}, probRateLimited},
	} {
		f, ok := refusalOf(c.err)
		if !ok {
			t.Errorf("%v has no row in refusals: it would be answered 500", c.err)
			continue
		}
		if f.kind != c.want {
			t.Errorf("%v is answered %s, want %s", c.err, f.kind.Type, c.want.Type)
		}
	}
	for _, f := range refusals {
		if f.kind.Status == http.StatusUnauthorized && f.challenge == nil {
			t.Errorf("%s is a 401 without WWW-Authenticate", f.kind.Type)
		}
	}
	// A bad token is told apart from none (RFC 6750).
	none, bad := &unauthenticated{}, &unauthenticated{invalid: true}
	if c := challenge(none); c != `Bearer realm="flashsale"` {
		t.Errorf("no token: WWW-Authenticate %q", c)
	}
	if c := challenge(bad); c != `Bearer realm="flashsale", error="invalid_token"` {
		t.Errorf("a bad token: WWW-Authenticate %q", c)
	}
}
