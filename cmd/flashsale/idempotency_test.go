package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/testkit"
)

// TestIdempotencyKeySurvivesKill: a key's answer is committed with the
// change it answers (issue 11). The real binary on a SQLite file answers a
// keyed reserve, is killed with SIGKILL and started again on the same file:
// the retry with the same key gets the first answer, byte for byte, with
// Idempotency-Replayed: true, and the sale still has the one hold and the
// one place in line. The retry is a client's that never had the first
// answer, so it has no token: it gets the very shopper token the first
// answer carried.
func TestIdempotencyKeySurvivesKill(t *testing.T) {
	bin := serverbin.Path(t)
	args := []string{"--store", "sqlite", "--db", filepath.Join(t.TempDir(), "sale.db"),
		"--admin-token", "keys", "--hold-ttl", crashHoldTTL.String(), "--inventory", "1", "--rate-limit", "0"}

	srv := testkit.StartProcess(t, bin, args...)
	c := newClient(t, srv.URL)
	held := keyedReserve(t, c, "alice", "alice-attempt-1")
	waiting := keyedReserve(t, c, "bob", `"bob-attempt-1"`)
	if held.StatusCode() != http.StatusCreated || waiting.StatusCode() != http.StatusAccepted {
		t.Fatalf("before the kill: alice %d %s, bob %d %s", held.StatusCode(), held.Body, waiting.StatusCode(), waiting.Body)
	}
	if held.JSON201.ShopperToken == nil || testkit.Waitlisted(waiting) == nil || testkit.Waitlisted(waiting).ShopperToken == nil {
		t.Fatalf("a first reserve without a shopper token: alice %s, bob %s", held.Body, waiting.Body)
	}
	srv.Kill(t)

	srv = testkit.StartProcess(t, bin, args...)
	c = newBareClient(t, srv.URL)
	for _, r := range []struct {
		user, key string
		first     *generated.ReserveResponse
	}{
		{"alice", "alice-attempt-1", held},
		{"bob", "bob-attempt-1", waiting}, // bare now: the same key
	} {
		again := keyedReserve(t, c, r.user, r.key)
		if again.StatusCode() != r.first.StatusCode() || !bytes.Equal(again.Body, r.first.Body) {
			t.Errorf("%s after the restart:\n got %d %s\nwant %d %s", r.user, again.StatusCode(), again.Body, r.first.StatusCode(), r.first.Body)
		}
		if got, want := again.HTTPResponse.Header.Get("Location"), r.first.HTTPResponse.Header.Get("Location"); got != want {
			t.Errorf("%s: Location %q after the restart, %q before", r.user, got, want)
		}
		if got := again.HTTPResponse.Header.Values("Idempotency-Replayed"); len(got) != 1 || got[0] != "true" {
			t.Errorf("%s: Idempotency-Replayed %q after the restart, want true", r.user, got)
		}
		if got := r.first.HTTPResponse.Header.Values("Idempotency-Replayed"); len(got) != 0 {
			t.Errorf("%s: the first answer had Idempotency-Replayed %q", r.user, got)
		}
	}
	wantStatus(t, c, generated.Status{Phase: generated.StatusPhaseOpen, Initialized: true, TotalInventory: 1, Available: 0, Held: 1, Confirmed: 0, WaitlistSize: 1})
}

func keyedReserve(t *testing.T, c *generated.ClientWithResponses, user, key string) *generated.ReserveResponse {
	t.Helper()
	r, err := c.ReserveWithResponse(context.Background(), &generated.ReserveParams{IdempotencyKey: &key}, generated.ReserveRequest{UserId: &user})
	if err != nil {
		t.Fatalf("reserve %s with key %q: %v", user, key, err)
	}
	return r
}
