package rules

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// The draw a Sale makes is sale.DrawOrder's, for many entrants, some of
// whom left and came back.
func TestTheDrawIsDrawOrder(t *testing.T) {
	w := newWindowSale(t, seedsOf(11))
	opens := t0.Add(time.Minute)
	w.init(t0, 0, false, sale.Window{OpensAt: opens})
	users := names("shopper-", 5000)
	in := map[string]bool{}
	for i, u := range users {
		if _, err := w.Reserve(t0, u); err != nil {
			t.Fatal(err)
		}
		in[u] = true
		if i%7 == 3 {
			if err := w.Leave(t0, users[i/2]); err != nil {
				t.Fatal(err)
			}
			delete(in, users[i/2])
		}
		w.take()
	}
	var entrants []string
	for u := range in {
		entrants = append(entrants, u)
	}
	w.Expire(opens)
	w.take()
	want := sale.DrawOrder(seedOf(11), entrants)
	got := make([]string, len(w.window.entrants))
	for i, r := range w.window.entrants {
		got[i] = w.accounts.id(r)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the draw of %d differs from sale.DrawOrder", len(want))
	}
	for i, u := range want {
		if p := w.User(u).Position; p != int64(i+1) {
			t.Fatalf("%s waits at %d, drawn %d", u, p, i+1)
		}
	}
	slices.Sort(entrants)
	if !slices.Equal(w.Entrants(), entrants) {
		t.Fatal("Entrants is not the draw's entrants, sorted")
	}
	w.replayed(users[:100])
}

// The pre-queue sorts on the first 8 bytes of each key; keys alike there
// must be ordered as DrawOrder orders them, by the whole key. Truncating
// every key to its top bits (which keeps their order) makes such ties by
// the hundred, and zeroing them all makes every pair one.
func TestTheDrawBreaksPrefixTiesAsDrawOrder(t *testing.T) {
	seed := seedOf(42)
	keys := sale.NewDrawKeys(seed)
	// Few entrants and many, for a sort that would choose its way by
	// their number.
	for _, tc := range []struct{ n, bits int }{{50, 2}, {50, 0}, {5000, 4}, {5000, 0}} {
		users := names("tie-", tc.n)
		bits := tc.bits
		t.Run(fmt.Sprintf("%d entrants, top %d bits", tc.n, bits), func(t *testing.T) {
			accts := newAccounts()
			var p prequeue
			for _, u := range users {
				p.push(accts, accts.add(u), keys.Key(u))
			}
			for i := range p.slots {
				if bits == 0 {
					p.slots[i].key = 0
				} else {
					p.slots[i].key >>= 64 - bits
				}
			}
			refs := p.draw(accts, keys)
			got := make([]string, len(refs))
			for i, r := range refs {
				got[i] = accts.id(r)
			}
			if want := sale.DrawOrder(seed, users); !slices.Equal(got, want) {
				t.Fatalf("with keys tied in their first 8 bytes, the draw is not sale.DrawOrder's")
			}
		})
	}
}

func TestCompareDrawn(t *testing.T) {
	lo, hi := []byte{0, 1}, []byte{0, 2}
	for _, tc := range []struct {
		ka   []byte
		ua   string
		kb   []byte
		ub   string
		want int
	}{
		{lo, "z", hi, "a", -1}, // the key first, whatever the ids
		{hi, "a", lo, "z", 1},
		{lo, "a", lo, "b", -1}, // equal keys: by id
		{lo, "b", lo, "a", 1},
		{lo, "a", lo, "a", 0},
		{[]byte{1, 0}, "a", []byte{0, 0xff}, "a", 1}, // big-endian
	} {
		if got := sale.CompareDrawn(tc.ka, tc.ua, tc.kb, tc.ub); got != tc.want {
			t.Errorf("CompareDrawn(%x %s, %x %s) = %d, want %d", tc.ka, tc.ua, tc.kb, tc.ub, got, tc.want)
		}
	}
}

// DrawOrder is a function of the set of entrants: their order and repeats
// do not matter, and it is the sort by HMAC-SHA256(seed, id) it documents.
func TestDrawOrderIsOfTheSet(t *testing.T) {
	seed := seedOf(8)
	users := names("x", 50)
	want := sale.DrawOrder(seed, users)
	shuffled := slices.Clone(users)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	shuffled = append(shuffled, users[:10]...)
	if got := sale.DrawOrder(seed, shuffled); !slices.Equal(got, want) {
		t.Fatalf("shuffled with repeats: %v, want %v", got, want)
	}
	keys := sale.NewDrawKeys(seed)
	for i := 1; i < len(want); i++ {
		a := slices.Clone(keys.Key(want[i-1]))
		if bytes.Compare(a, keys.Key(want[i])) >= 0 {
			t.Fatalf("%s before %s, but its HMAC is not smaller", want[i-1], want[i])
		}
	}
	if other := sale.DrawOrder(seedOf(9), users); slices.Equal(other, want) {
		t.Fatal("another seed gives the same order")
	}
}

func TestParseSeed(t *testing.T) {
	seed := seedOf(0xab)
	if got, err := sale.ParseSeed(hex.EncodeToString(seed)); err != nil || !bytes.Equal(got, seed) {
		t.Fatalf("ParseSeed: %x, %v", got, err)
	}
	for _, bad := range []string{"", "zz", hex.EncodeToString(seed[:31]), hex.EncodeToString(append(seed, 0))} {
		if _, err := sale.ParseSeed(bad); err == nil {
			t.Errorf("ParseSeed(%q) accepted", bad)
		}
	}
}
