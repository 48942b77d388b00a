package conformance

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/flashsale/flashsale/internal/sale"
)

// Servers is a Storage's Factory that opens n stores on the same storage,
// as n servers on one database, and returns them as one sale.Store that
// hands each call to the next of them in turn. Whatever the suite or the
// linearizability check finds of one store, they must find of the n
// together: each call lands on a server that may not have made, or seen
// yet, the change before it.
func Servers(f Factory, n int) Factory {
	return func(t *testing.T, cfg sale.Config) sale.Store {
		t.Helper()
		r := &roundRobin{stores: make([]sale.Store, n)}
		for i := range r.stores {
			r.stores[i] = f(t, cfg)
		}
		return r
	}
}

// LinearizableAcross is Linearizable with every history played on two
// stores sharing one storage.
func LinearizableAcross(t *testing.T, storage Storage, histories int) {
	failed := 0
	for _, seed := range seeds(t, histories) {
		if failed == 3 {
			t.Fatalf("stopped after %d failing histories", failed)
		}
		res, path := CheckHistory(t, Servers(storage(t), 2), seed)
		if res != porcupine.Ok {
			failed++
			t.Errorf("seed %d: history over two servers is %s; timeline in %s (replay: FLASHSALE_LIN_SEED=%d FLASHSALE_PORCUPINE_DIR=/tmp/lin go test -run '%s$' ./...)",
				seed, res, path, seed, t.Name())
		}
	}
}

// roundRobin is n stores as one.
type roundRobin struct {
	stores []sale.Store
	next   atomic.Uint64
}

func (r *roundRobin) pick() sale.Store {
	return r.stores[(r.next.Add(1)-1)%uint64(len(r.stores))]
}

func (r *roundRobin) Do(ctx context.Context, c sale.Call, key string) (sale.Answer, error) {
	return r.pick().Do(ctx, c, key)
}

func (r *roundRobin) Reservation(ctx context.Context, id string) (sale.Reservation, error) {
	return r.pick().Reservation(ctx, id)
}

func (r *roundRobin) User(ctx context.Context, userID string) (sale.UserState, error) {
	return r.pick().User(ctx, userID)
}

func (r *roundRobin) Leave(ctx context.Context, userID string) error {
	return r.pick().Leave(ctx, userID)
}

func (r *roundRobin) Entrants(ctx context.Context) ([]string, error) {
	return r.pick().Entrants(ctx)
}

func (r *roundRobin) Status(ctx context.Context) (sale.Status, error) { return r.pick().Status(ctx) }

func (r *roundRobin) Expire(ctx context.Context) (int, error) { return r.pick().Expire(ctx) }

func (r *roundRobin) Events(ctx context.Context, after uint64, limit int) ([]sale.Event, <-chan struct{}, error) {
	return r.pick().Events(ctx, after, limit)
}

func (r *roundRobin) Newest(ctx context.Context) (uint64, error) { return r.pick().Newest(ctx) }

func (r *roundRobin) SigningKey(ctx context.Context, id string, fresh []byte) ([]byte, error) {
	return r.pick().SigningKey(ctx, id, fresh)
}

func (r *roundRobin) Close() error {
	var err error
	for _, s := range r.stores {
		err = errors.Join(err, s.Close())
	}
	return err
}
