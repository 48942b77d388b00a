package shopper_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/shopper"
	"github.com/golang-jwt/jwt/v5"
)

// minted is what a verifier may accept: the tokens the test signed, by
// their signed part (header.payload), with the signature and the user.
type minted map[string]struct {
	sig  []byte
	user string
}

func (m minted) add(t testing.TB, tok, user string) {
	t.Helper()
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	m[tok[:i]] = struct {
		sig  []byte
		user string
	}{sig, user}
}

// accepts says whether tok is one of m's: the signed part exactly, and a
// signature that decodes to the same bytes (base64url's last character has
// bits that carry nothing, and a decoder may ignore them).
func (m minted) accepts(tok, user string) bool {
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		return false
	}
	want, ok := m[tok[:i]]
	if !ok || want.user != user {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(tok[i+1:]))
	return err == nil && bytes.Equal(sig, want.sig)
}

// FuzzVerify hands both verifiers whatever the fuzzer makes: neither may
// panic, refuse with anything but ErrInvalidToken, or accept a token the
// test did not sign with their keys. The sale's verifier may not make the
// store keep a secret for a period a token names, beyond the two whose
// tokens can still be valid.
func FuzzVerify(f *testing.F) {
	clock := clocktest.New(t0)
	keys := newKeyring()
	tokens := shopper.NewTokens(keys, clock)
	own := minted{}
	alice := issue(f, tokens, "alice", t0)
	bob := issue(f, tokens, "bob", t0.Add(-time.Hour))
	own.add(f, alice, "alice")
	own.add(f, bob, "bob")

	shop := loadShop(f, shopConfig(writeFile(f, "keys.pem", publicPEM(f, &rsaKey().PublicKey)), writeFile(f, "secret", shopSecret), clock))
	theirs := minted{}
	rs := mint(f, jwt.SigningMethodRS256, rsaKey(), shopClaims("alice"), nil)
	hs := mint(f, jwt.SigningMethodHS256, bytes.TrimSpace(shopSecret), shopClaims("bob"), nil)
	theirs.add(f, rs, "alice")
	theirs.add(f, hs, "bob")

	for _, tok := range []string{alice, bob, rs, hs} {
		h, p, s := parts(f, tok)
		f.Add(tok)
		f.Add(tok[:len(tok)/2])
		f.Add(tok[:len(tok)-1])
		f.Add(h + "." + p + ".")
		f.Add(h + "." + p)
		f.Add(p + "." + h + "." + s)
		f.Add(h + "." + s + "." + p)
		f.Add(flipSig(f, tok))
		f.Add(tok + "." + s)
		f.Add(" " + tok)
	}
	ah, ap, as := parts(f, alice)
	_, bp, bs := parts(f, bob)
	rh, rp, rsig := parts(f, rs)
	f.Add(ah + "." + bp + "." + as)
	f.Add(ah + "." + ap + "." + bs)
	f.Add(rh + "." + ap + "." + rsig)
	f.Add(ah + "." + rp + "." + as)
	f.Add(unsigned(f, claimsAt("alice", t0), map[string]any{"kid": kidAt(t0)}))
	f.Add(unsigned(f, shopClaims("alice"), nil))
	f.Add(mint(f, jwt.SigningMethodHS256, publicPEM(f, &rsaKey().PublicKey), shopClaims("alice"), nil))
	f.Add(mint(f, jwt.SigningMethodHS256, []byte("guess"), claimsAt("alice", t0), map[string]any{"kid": kidAt(t0.Add(-24 * time.Hour))}))
	for _, s := range []string{"", ".", "..", "...", "a.b.c", "eyJ9.eyJ9.", "null.null.null", "e30.e30.", "e30.e30.e30"} {
		f.Add(s)
	}
	periods := map[string]bool{kidAt(t0): true, kidAt(t0.Add(-shopper.TokenTTL)): true}

	f.Fuzz(func(t *testing.T, tok string) {
		for _, v := range []struct {
			name   string
			verify shopper.Verifier
			minted minted
		}{{"the sale's tokens", tokens, own}, {"the shop's tokens", shop, theirs}} {
			id, err := v.verify.Verify(t.Context(), tok)
			if err != nil {
				if !errors.Is(err, shopper.ErrInvalidToken) {
					t.Fatalf("%s: %q refused with %v, not ErrInvalidToken", v.name, tok, err)
				}
				continue
			}
			if !v.minted.accepts(tok, id.User) {
				t.Fatalf("%s: accepted %q as %q, a token the test never signed", v.name, tok, id.User)
			}
		}
		for _, kid := range keys.ids() {
			if !periods[kid] {
				t.Fatalf("a token made the store keep a secret for %s", kid)
			}
		}
	})
}
