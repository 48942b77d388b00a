package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/testkit"
)

// typescriptClient is the TypeScript client and its contract test.
var typescriptClient = filepath.Join("..", "..", "clients", "typescript")

// requireNode, when set, makes a machine without Node.js fail the
// TypeScript client's test instead of skipping it (.ci/run sets it).
const requireNode = "FLASHSALE_REQUIRE_NODE"

// TestTypeScriptClientPlaysASale is the API's contract in a second
// language: clients/typescript generates its types from api/openapi.yaml
// (openapi-typescript), compiles under tsc --strict, is linted for casts
// and `any`, and plays a whole sale against this server through
// openapi-fetch, each shopper with their token: once with the sale's own
// shopper tokens, once with the shop's, minted by jose. A document that
// stops compiling the obvious code, or stops describing what the server
// sends, fails here; so does a server that cannot verify the JWTs another
// implementation (jose) signs, or takes the bad ones it makes. A third
// server schedules a sale a few seconds ahead, and the test checks its
// draw as any shopper could, recomputed with node:crypto: the revealed
// seed against the commitment, every place against HMAC-SHA256(seed, id).
func TestTypeScriptClientPlaysASale(t *testing.T) {
	needNode(t)
	installPackages(t, typescriptClient)
	npm(t, typescriptClient, nil, "run", "build") // generate the types, then tsc
	npm(t, typescriptClient, nil, "run", "lint")

	const token = "typescript-test-token"
	t.Run("the sale's shopper tokens", func(t *testing.T) {
		s := testkit.StartRun(t, run, []string{"--admin-token", token}, nil)
		npm(t, typescriptClient, []string{"FLASHSALE_URL=" + s.URL, "FLASHSALE_ADMIN_TOKEN=" + token}, "test")
	})
	t.Run("a scheduled sale's draw, recomputed", func(t *testing.T) {
		s := testkit.StartRun(t, run, []string{"--admin-token", token}, nil)
		npm(t, typescriptClient, []string{"FLASHSALE_URL=" + s.URL, "FLASHSALE_ADMIN_TOKEN=" + token}, "run", "test:draw")
	})
	t.Run("the shop's tokens, minted by jose", func(t *testing.T) {
		const issuer, audience = "https://shop.example", "flashsale-typescript-test"
		public, private := shopKeyFiles(t)
		s := testkit.StartRun(t, run, []string{
			"--admin-token", token,
			"--shopper-jwt-keys", public,
			"--shopper-jwt-issuer", issuer,
			"--shopper-jwt-audience", audience,
		}, nil)
		npm(t, typescriptClient, []string{
			"FLASHSALE_URL=" + s.URL,
			"FLASHSALE_ADMIN_TOKEN=" + token,
			"FLASHSALE_SHOP_PUBLIC_KEY=" + public,
			"FLASHSALE_SHOP_PRIVATE_KEY=" + private,
			"FLASHSALE_SHOP_ISSUER=" + issuer,
			"FLASHSALE_SHOP_AUDIENCE=" + audience,
		}, "run", "test:shop")
	})
}

// shopKeyFiles makes the shop's signing key, an Ed25519 pair new to this
// test, and writes its public half as PEM for the server's
// --shopper-jwt-keys and its private half as PKCS#8 PEM for jose, which is
// then the shop's login. It returns the two files' paths.
func shopKeyFiles(t *testing.T) (public, private string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkix, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	public, private = filepath.Join(dir, "shop-public.pem"), filepath.Join(dir, "shop-private.pem")
	if err := os.WriteFile(public, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(private, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	return public, private
}

// needNode skips the test when node or npm is missing, or fails it if
// FLASHSALE_REQUIRE_NODE is set, and fails it on a Node.js older than 20.
func needNode(t *testing.T) {
	t.Helper()
	for _, cmd := range []string{"node", "npm"} {
		if _, err := exec.LookPath(cmd); err != nil {
			msg := cmd + " is not installed: the TypeScript client's contract test (clients/typescript) needs Node.js 20 or later and npm (apt-get install -y nodejs npm)"
			if os.Getenv(requireNode) != "" {
				t.Fatalf("%s, and %s is set", msg, requireNode)
			}
			t.Skip(msg)
		}
	}
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	version := strings.TrimSpace(string(out))
	major, _, _ := strings.Cut(strings.TrimPrefix(version, "v"), ".")
	if n, err := strconv.Atoi(major); err != nil || n < 20 {
		t.Fatalf("the TypeScript client needs Node.js 20 or later; this is %s", version)
	}
}

// installPackages runs npm ci in dir when its node_modules is missing or
// older than its lock file (npm writes node_modules/.package-lock.json on
// each install), as make does for the OpenAPI linter.
func installPackages(t *testing.T, dir string) {
	t.Helper()
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if installed, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !installed.ModTime().Before(lock.ModTime()) {
		return
	}
	npm(t, dir, nil, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
}

// npm runs npm with args in dir, env added to the test's own, and fails
// the test with npm's output if it fails. Output is logged either way.
func npm(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NPM_CONFIG_UPDATE_NOTIFIER=false"), env...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("npm %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	t.Logf("npm %s:\n%s", strings.Join(args, " "), out)
}
