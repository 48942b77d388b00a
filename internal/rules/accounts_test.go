package rules

import (
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Ids whose hashes collide are told apart by the id itself: with every id
// hashing alike, each still finds its own account, and an unknown id none.
func TestAccountsTellCollidingIDsApart(t *testing.T) {
	for name, hash := range map[string]func(string) uint64{
		"seeded":    newAccounts().hash,
		"all alike": func(string) uint64 { return 7 },
		"by length": func(id string) uint64 { return uint64(len(id)) },
	} {
		t.Run(name, func(t *testing.T) {
			a := newAccounts()
			a.hash = hash
			refs := make(map[string]ref)
			for i := range 2000 {
				id := "user-" + strconv.Itoa(i)
				if a.find(id) != 0 {
					t.Fatalf("%s found before it was added", id)
				}
				refs[id] = a.add(id)
			}
			for id, r := range refs {
				if got := a.find(id); got != r {
					t.Fatalf("find(%s) = %d, want %d", id, got, r)
				}
				if got := a.id(r); got != id {
					t.Fatalf("id(%d) = %q, want %q", r, got, id)
				}
			}
			for _, id := range []string{"user-2000", "", "user-", "nobody"} {
				if r := a.find(id); r != 0 {
					t.Fatalf("find(%q) = %d for an id never added", id, r)
				}
			}
		})
	}
}

// A sale whose user ids all collide in the account index keeps the same
// state: random decisions on a sale with the seeded hash, their events
// replayed on one where every id hashes alike, and every user's standing and
// the numbers read the same on both.
func TestSaleIsTheSameWhenEveryIDCollides(t *testing.T) {
	newSale := func() *Sale {
		s, err := New(sale.Config{HoldTTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	real, alike := newSale(), newSale()
	alike.accounts.hash = func(string) uint64 { return 1 }
	rng := rand.New(rand.NewPCG(3, 4))
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	const users = 300
	var holds []string
	clashed := 0 // the most ids the clash map held at once
	for i := range 5000 {
		now = now.Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
		user := "u" + strconv.Itoa(rng.IntN(users))
		switch op := rng.IntN(10); {
		case i == 0 || op == 0:
			_, _ = real.Initialize(now, int64(rng.IntN(20)), rng.IntN(5) == 0)
		case op < 5:
			if r, err := real.Reserve(now, user); err == nil && r.Reservation != nil {
				holds = append(holds, r.Reservation.ID)
			}
		case op < 7 && len(holds) > 0:
			_, _ = real.Confirm(now, holds[rng.IntN(len(holds))])
		case op < 8 && len(holds) > 0:
			_, _ = real.Cancel(now, holds[rng.IntN(len(holds))])
		default:
			_ = real.Leave(now, user)
		}
		for _, e := range real.Take() {
			if err := alike.Apply(e); err != nil {
				t.Fatalf("call %d: replay %v: %v", i, e, err)
			}
		}
		clashed = max(clashed, len(alike.accounts.clash))
		if a, b := real.Status(), alike.Status(); a != b {
			t.Fatalf("call %d: status %+v, replayed %+v", i, a, b)
		}
		if i%50 == 0 {
			for u := range users {
				id := "u" + strconv.Itoa(u)
				if a, b := real.User(id), alike.User(id); !reflect.DeepEqual(a, b) {
					t.Fatalf("call %d: %s is %+v, replayed %+v", i, id, a, b)
				}
			}
		}
	}
	if clashed < 50 {
		t.Fatalf("at most %d ids were in the clash map at once: the test did not collide", clashed)
	}
}
