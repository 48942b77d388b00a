package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/testkit"
	"github.com/golang-jwt/jwt/v5"
)

// The shop rotates its keys with no restart: a new key file and SIGHUP, and
// the real server takes the new key's tokens and refuses the old one's. A
// file that does not read at SIGHUP keeps the keys in use, and the log says
// why.
func TestShopKeysReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "shop.pem")
	oldKey, oldPEM := ed25519Key(t)
	newKey, newPEM := ed25519Key(t)
	replaceFile(t, keys, oldPEM)
	srv := testkit.StartProcess(t, serverbin.Path(t), "--inventory", "5", "--admin-token", "adm",
		"--shopper-jwt-keys", keys, "--shopper-jwt-issuer", "https://shop.example", "--shopper-jwt-audience", "flashsale")

	read := func(signer ed25519.PrivateKey, user string) int {
		t.Helper()
		tok := shopToken(t, signer, user)
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/users/"+user, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := read(oldKey, "alice"); got != http.StatusOK {
		t.Fatalf("the old key's token before the reload: %d, want 200", got)
	}
	if got := read(newKey, "bob"); got != http.StatusUnauthorized {
		t.Fatalf("the new key's token before the reload: %d, want 401", got)
	}

	replaceFile(t, keys, newPEM)
	srv.Signal(t, syscall.SIGHUP)
	waitLogged(t, srv, "SIGHUP: reloaded the shop's token keys", 1)
	if got := read(newKey, "bob"); got != http.StatusOK {
		t.Fatalf("the new key's token after the reload: %d, want 200", got)
	}
	if got := read(oldKey, "alice"); got != http.StatusUnauthorized {
		t.Fatalf("the old key's token after the reload: %d, want 401 (a key taken away stops working)", got)
	}

	replaceFile(t, keys, []byte("not a key\n"))
	srv.Signal(t, syscall.SIGHUP)
	waitLogged(t, srv, "SIGHUP: the shop's token keys did not reload; the keys read before stay in use", 1)
	if got := read(newKey, "carol"); got != http.StatusOK {
		t.Fatalf("after a bad file: the keys in use gave %d, want 200", got)
	}
	if !strings.Contains(srv.LogText(), "neither a JWKS") {
		t.Errorf("the log does not say what is wrong with the file:\n%s", srv.LogText())
	}
}

func ed25519Key(t *testing.T) (ed25519.PrivateKey, []byte) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return priv, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func shopToken(t *testing.T, key ed25519.PrivateKey, user string) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.RegisteredClaims{
		Issuer: "https://shop.example", Audience: jwt.ClaimStrings{"flashsale"}, Subject: user,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func replaceFile(t *testing.T, path string, b []byte) {
	t.Helper()
	// Written aside and renamed, as an operator's tool would, so the server
	// never reads half a file.
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitLogged waits until the server has logged msg n times.
func waitLogged(t *testing.T, srv *testkit.Process, msg string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Logged(msg)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the server never logged %q:\n%s", msg, srv.LogText())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
