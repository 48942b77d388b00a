package conformance

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
)

// signingKeyTests: the keyring keeps the first secret given for an id and
// gives every later caller that one, on every server of the storage.
var signingKeyTests = []test{
	{"FirstSecretIsKept", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.wantSigningKey("k1", secret(1), secret(1))
		// Another server (or this one after a restart) that made up its
		// own secret signs with the kept one, or their tokens would not
		// check on each other.
		h.wantSigningKey("k1", secret(2), secret(1))
		h.wantSigningKey("k1", secret(1), secret(1))
	}},

	{"IDsAreIndependent", func(t *testing.T, f Factory) {
		// A rotation keeps a new id and leaves the old one's secret, so
		// tokens signed before it still check.
		h := start(t, f)
		h.wantSigningKey("k1", secret(1), secret(1))
		h.wantSigningKey("k2", secret(2), secret(2))
		h.wantSigningKey("k2", secret(3), secret(2))
		h.wantSigningKey("k1", secret(3), secret(1))
	}},

	{"CallersGetCopies", func(t *testing.T, f Factory) {
		// A caller may clear its secrets after use, or reuse the buffer
		// it made the fresh one in: what is kept must not change with them.
		h := start(t, f)
		fresh := secret(1)
		got := h.signingKey("k1", fresh)
		clear(got)
		clear(fresh)
		h.wantSigningKey("k1", secret(2), secret(1))
		again := h.signingKey("k1", secret(2))
		again[0] ^= 0xff
		h.wantSigningKey("k1", secret(2), secret(1))
	}},

	{"NoIDOrNoSecret", func(t *testing.T, f Factory) {
		h := start(t, f)
		_, err := h.s.SigningKey(h.ctx, "", secret(1))
		h.wantErr("signing key with no id", err, sale.ErrInvalid)
		for _, fresh := range [][]byte{nil, {}} {
			_, err = h.s.SigningKey(h.ctx, "k1", fresh)
			h.wantErr(fmt.Sprintf("signing key with the fresh secret %#v", fresh), err, sale.ErrInvalid)
		}
		// Refused, they kept nothing: the first secret given is still the
		// first valid one.
		h.wantSigningKey("k1", secret(1), secret(1))
	}},

	{"OneSecretForConcurrentCallers", func(t *testing.T, f Factory) {
		// Servers starting at once each make up a secret for the same id:
		// one is kept, and every caller, on every server, gets it. With
		// Servers(f, 2), the calls alternate between the two.
		h := start(t, f)
		const callers = 16
		for round := range 4 {
			id := fmt.Sprintf("k%d", round)
			var (
				wg   sync.WaitGroup
				gate = make(chan struct{}) // so that they ask at once
				got  [callers][]byte
			)
			for i := range callers {
				wg.Go(func() {
					<-gate
					s, err := h.s.SigningKey(h.ctx, id, secret(round*callers+i))
					if err != nil {
						t.Errorf("signing key %s, caller %d: %v", id, i, err)
					}
					got[i] = s
				})
			}
			close(gate)
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			kept := got[0]
			if !isSecretOf(kept, round*callers, callers) {
				t.Fatalf("signing key %s: got %x, the secret of no caller", id, kept)
			}
			for i, s := range got {
				if !bytes.Equal(s, kept) {
					t.Fatalf("signing key %s: caller 0 got %x, caller %d %x", id, kept, i, s)
				}
			}
			h.wantSigningKey(id, secret(-1), kept)
		}
	}},
}

// signingKeysSurviveARestart: a secret kept is kept for good, so that the
// tokens signed before a restart check after it.
func signingKeysSurviveARestart(t *testing.T, f Factory) {
	h := start(t, f)
	h.wantSigningKey("k1", secret(1), secret(1))
	h.reopen(f, ttl)
	h.wantSigningKey("k1", secret(2), secret(1))
	h.wantSigningKey("k2", secret(3), secret(3))
}

// signingKey asks for id's secret, expecting no error.
func (h *harness) signingKey(id string, fresh []byte) []byte {
	h.t.Helper()
	got, err := h.s.SigningKey(h.ctx, id, fresh)
	if err != nil {
		h.t.Fatalf("signing key %q: %v", id, err)
	}
	return got
}

// wantSigningKey checks that asking for id's secret with fresh gets want.
func (h *harness) wantSigningKey(id string, fresh, want []byte) {
	h.t.Helper()
	if got := h.signingKey(id, fresh); !bytes.Equal(got, want) {
		h.t.Fatalf("signing key %q, given %x: got %x, want %x", id, fresh, got, want)
	}
}

// secret is the i'th test secret: binary, with a NUL and bytes that are no
// UTF-8, so that a backend keeping it as text would show.
func secret(i int) []byte {
	s := sha256.Sum256([]byte(fmt.Sprintf("secret %d", i)))
	return append([]byte{0, 0xff, 0xc3}, s[:]...)
}

// isSecretOf reports whether s is secret(i) for some i in [from, from+n).
func isSecretOf(s []byte, from, n int) bool {
	for i := from; i < from+n; i++ {
		if bytes.Equal(s, secret(i)) {
			return true
		}
	}
	return false
}
