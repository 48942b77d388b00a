package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/cli"
)

// TestRunRefusesBadWebhookSecrets: a secret file that cannot sign is the
// operator's mistake, told in one line, exit 2, before anything listens,
// and the line never shows the secret.
func TestRunRefusesBadWebhookSecrets(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		writeFile(t, path, []byte(content))
		return path
	}
	missing := filepath.Join(dir, "missing")
	for _, c := range []struct {
		name, path string
		want       []string
	}{
		{"missing", missing, []string{missing, "no such file"}},
		{"empty", file("empty", "\n"), []string{"empty", "holds no secret"}},
		{"no prefix", file("bare", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"), []string{"bare", "does not start with whsec_"}},
		{"not base64", file("garbled", "whsec_MfKQ9r8GKYqrTwjUPD8I!!!\n"), []string{"garbled", "base64"}},
		{"too short", file("short", "whsec_c2hvcnQ=\n"), []string{"short", "24 to 64"}},
		{"three", file("three", strings.Repeat("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", 3)), []string{"three", "at most 2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			args := []string{"--addr", "127.0.0.1:0", "--webhook-url", "http://127.0.0.1:9/hooks", "--webhook-secret-file", c.path}
			var out syncBuffer
			err := run(ctx, args, envOf(nil), &out)
			line, code := cli.Outcome("flashsale", err)
			if code != 2 || strings.ContainsAny(strings.TrimSuffix(line, "\n"), "\r\n") {
				t.Fatalf("run(%q) = %v: exit %d, line %q; want exit 2 and one line", args, err, code, line)
			}
			for _, w := range c.want {
				if !strings.Contains(line, w) {
					t.Errorf("the line does not say %q: %q", w, line)
				}
			}
			if strings.Contains(line, "MfKQ9r8GKYqrTwjUPD8I") {
				t.Errorf("the line shows the secret: %q", line)
			}
			if strings.Contains(out.String(), "listening") {
				t.Errorf("the server listened with a bad secret file:\n%s", out.String())
			}
		})
	}
}
