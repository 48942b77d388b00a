package main

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/internal/testkit"
)

// TestTypeScriptVerifiesWebhooks checks the server's webhooks with another
// implementation of Standard Webhooks 1.0, the `standardwebhooks` npm
// library, as a shop would: clients/typescript/src/webhook.test.ts is the
// endpoint, plays a small sale through the typed client, verifies every
// call it is sent under the secret of --webhook-secret-file, reads each
// body as the document's WebhookEvent, and checks that the library refuses
// a body changed by one byte, an old timestamp and a wrong secret. Once
// with one secret, once during a rotation: the file holds the new secret
// and the old, and every call must verify under each alone.
func TestTypeScriptVerifiesWebhooks(t *testing.T) {
	needNode(t)
	installPackages(t, typescriptClient)
	npm(t, typescriptClient, nil, "run", "build") // generate the types, then tsc

	const token = "typescript-webhook-test-token"
	for _, tc := range []struct {
		name    string
		secrets int
	}{
		{"one secret", 1},
		{"a rotation: the new secret and the old", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secrets := make([]string, tc.secrets)
			for i := range secrets {
				secrets[i] = newWebhookSecret(t)
			}
			file := filepath.Join(t.TempDir(), "webhook-secret")
			if err := os.WriteFile(file, []byte(strings.Join(secrets, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			// The endpoint is node's, on a port free now; the server
			// retries until it listens, but nothing is sent before the
			// test plays its sale, which it does once it listens.
			port := freeLoopbackPort(t)
			s := testkit.StartRun(t, run, []string{
				"--admin-token", token,
				"--webhook-url", "http://127.0.0.1:" + strconv.Itoa(port) + "/hooks",
				"--webhook-secret-file", file,
			}, nil)
			env := []string{
				"FLASHSALE_URL=" + s.URL,
				"FLASHSALE_ADMIN_TOKEN=" + token,
				"FLASHSALE_WEBHOOK_PORT=" + strconv.Itoa(port),
				"FLASHSALE_WEBHOOK_SECRET=" + secrets[0],
			}
			if len(secrets) > 1 {
				env = append(env, "FLASHSALE_WEBHOOK_OLD_SECRET="+secrets[1])
			}
			npm(t, typescriptClient, env, "run", "test:webhook")
		})
	}
}

// newWebhookSecret is a Standard Webhooks secret new to the test: whsec_
// and 32 random bytes in base64.
func newWebhookSecret(t *testing.T) string {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// freeLoopbackPort is a TCP port on 127.0.0.1 that was free a moment ago,
// for a listener that another process opens.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}
