package rules

import (
	"fmt"
	"hash/maphash"
	"math"

	"github.com/flashsale/flashsale/internal/sale"
)

// accounts is every user's standing, by user id, kept so that the garbage
// collector has almost nothing to trace: the accounts are one slice, the user
// ids one byte slice, and the index maps a hash of the id to the account's
// slot, so a waiting user is no heap object and no pointer of its own. With
// a map of ids to *account, each waiting user was two objects and four
// pointers to follow, and once a line of hundreds of thousands formed, each
// collection's mark phase took a tenth of a second of a loaded server's
// time, which is what set the p99 (docs/benchmarks.md).
//
// Hashes are seeded per process (maphash), so nobody can choose ids that
// collide; an id whose hash an earlier id already has goes to clash, a plain
// map, which is nearly always empty.
type accounts struct {
	list   []account      // by ref; list[0] is unused, so that ref 0 is none
	ids    []byte         // every user id, back to back
	byHash map[uint64]ref // the first account with each hash of its id
	clash  map[string]ref // accounts whose id hashes like an earlier account's
	hash   func(string) uint64
}

// ref names an account: its index in accounts.list; 0 is no account.
type ref int32

// account is one user's standing in the sale.
type account struct {
	idOff, idLen uint32 // the user id is ids[idOff : idOff+idLen]
	state        sale.UserStateKind
	ticket       uint64 // the waitlist ticket while state is Waiting; the waitlist keeps it
	hold         *hold  // the current hold or purchase, or the last hold
}

func newAccounts() *accounts {
	seed := maphash.MakeSeed()
	return (&accounts{hash: func(id string) uint64 { return maphash.String(seed, id) }}).emptied()
}

// emptied returns an empty table that hashes as t does (a reset keeps the
// seed, and a test's hash).
func (t *accounts) emptied() *accounts {
	return &accounts{list: make([]account, 1), byHash: make(map[uint64]ref), hash: t.hash}
}

// find returns user's account, or 0 if they have none.
func (t *accounts) find(user string) ref {
	r, ok := t.byHash[t.hash(user)]
	if !ok {
		return 0
	}
	if a := &t.list[r]; string(t.ids[a.idOff:a.idOff+a.idLen]) == user { // compared without a copy
		return r
	}
	return t.clash[user]
}

// add makes user's account, which must not exist yet. It may move the
// accounts: a *account from get is not valid across it.
func (t *accounts) add(user string) ref {
	if len(t.list) >= math.MaxInt32 || len(t.ids)+len(user) > math.MaxUint32 {
		panic(fmt.Sprintf("rules: %d accounts and %d bytes of user ids: more than the table can index", len(t.list), len(t.ids)))
	}
	r := ref(len(t.list))
	t.list = append(t.list, account{idOff: uint32(len(t.ids)), idLen: uint32(len(user)), state: sale.None})
	t.ids = append(t.ids, user...)
	h := t.hash(user)
	if _, taken := t.byHash[h]; !taken {
		t.byHash[h] = r
		return r
	}
	if t.clash == nil {
		t.clash = make(map[string]ref)
	}
	t.clash[user] = r
	return r
}

// get returns the account r names, valid until the next add.
func (t *accounts) get(r ref) *account { return &t.list[r] }

// id returns the user id of account r, as a new string.
func (t *accounts) id(r ref) string {
	a := &t.list[r]
	return string(t.ids[a.idOff : a.idOff+a.idLen])
}
