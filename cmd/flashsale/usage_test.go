package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/cli"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/testkit"
)

// takenAddr is an address something else already listens on.
func takenAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// A token generated for a server that never started would be a secret in
// the log for nothing, and a false lead for whoever reads it.
func TestRunLogsNoTokenWhenListenFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out syncBuffer
	err := run(ctx, []string{"--addr", takenAddr(t)}, envOf(nil), &out)
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("run = %v, want a listen error", err)
	}
	if _, code := cli.Outcome("flashsale", err); code != 1 {
		t.Errorf("exit status %d for a port in use, want 1", code)
	}
	if strings.Contains(out.String(), "admin_token") {
		t.Errorf("the log has a token for a server that never started:\n%s", out.String())
	}
}

// A token with a newline after it (an env file, a mounted secret) works as
// the operator meant, and the warning about it does not show it.
func TestRunTrimsTheAdminToken(t *testing.T) {
	const token = "s3cret-token"
	s := testkit.StartRun(t, run, nil, map[string]string{"FLASHSALE_ADMIN_TOKEN": token + "\n"})
	if code, _ := post(t, s.URL+"/initialize", `{"total_inventory":2}`, "Authorization", "Bearer "+token); code != 200 {
		t.Fatalf("initialize with the trimmed token: %d", code)
	}
	warned := false
	for _, l := range logLines(t, s) {
		if strings.HasPrefix(l["msg"].(string), "trimmed whitespace around the admin token") {
			warned = l["level"] == "WARN" && l["from"] == "FLASHSALE_ADMIN_TOKEN"
		}
		for k, v := range l {
			if text, ok := v.(string); ok && strings.Contains(text, token) {
				t.Errorf("the log shows the token in %q: %v", k, l)
			}
		}
	}
	if !warned {
		t.Errorf("no WARN line about the trimmed token:\n%s", s.LogText())
	}
}

// logLines is every line of p's log so far. (The kit gives the lines of
// one message, Logged, or the whole log as text, LogText.)
func logLines(t *testing.T, p *testkit.Process) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, text := range strings.Split(strings.TrimSuffix(p.LogText(), "\n"), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(text), &l); err != nil {
			t.Fatalf("the log as testkit gives it: %v: %q", err, text)
		}
		lines = append(lines, l)
	}
	return lines
}

// FLASHSALE_INVENTORY=xyz flashsale --inventory 3 serves 3 units.
func TestRunCommandLineWinsOverABadVariable(t *testing.T) {
	s := testkit.StartRun(t, run, []string{"--inventory", "3", "--admin-token", "t"}, map[string]string{"FLASHSALE_INVENTORY": "xyz"})
	if _, body := get(t, s.URL+"/status"); body["total_inventory"] != 3.0 {
		t.Fatalf("status %v, want the command line's 3 units", body)
	}
}

// Every mistake in the configuration is a usage error (exit 2), a failure
// of a well-configured server is not (exit 1).
func TestRunTellsMistakesFromFailures(t *testing.T) {
	// Stopped already, so that a configuration wrongly accepted returns
	// rather than serves.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range refusals {
		err := run(ctx, c.args, envOf(c.env), &bytes.Buffer{})
		if _, code := cli.Outcome("flashsale", err); code != 2 {
			t.Errorf("run(%q, %v) = %v: exit status %d, want 2", c.args, c.env, err, code)
		}
	}
	err := run(ctx, []string{"--store", "sqlite", "--db", filepath.Join(t.TempDir(), "nope", "sale.db")}, envOf(nil), &bytes.Buffer{})
	if _, code := cli.Outcome("flashsale", err); code != 1 {
		t.Errorf("a missing folder: %v: exit status %d, want 1", err, code)
	}
}

// The built command, as an operator or a service manager sees it: what it
// prints where, and its exit status.
func TestCommandExitStatus(t *testing.T) {
	bin := serverbin.Path(t)
	missing := filepath.Join(t.TempDir(), "no", "such", "folder", "sale.db")
	notKeys := filepath.Join(t.TempDir(), "keys.txt")
	writeFile(t, notKeys, []byte("not a key\n"))
	noKeys := filepath.Join(t.TempDir(), "keys.json")
	shop := []string{"--shopper-jwt-issuer", "https://shop.example", "--shopper-jwt-audience", "flashsale"}
	cases := []struct {
		name   string
		args   []string
		env    []string
		code   int
		stderr string // the whole of it, or its start when it ends with "..."
		stdout string // contained in it
	}{
		{"help", []string{"-h"}, nil, 0, "", "usage: flashsale [flags]"},
		{"--help", []string{"--help"}, nil, 0, "", "-hold-ttl duration"},
		{"unknown flag", []string{"--no-such-flag"}, nil, 2,
			"flashsale: flag provided but not defined: -no-such-flag (see --help)\n", ""},
		{"bad value", []string{"--hold-ttl", "5"}, nil, 2,
			"flashsale: -hold-ttl \"5\": want a duration with a unit, such as 90s, 5m or 1h30m (see --help)\n", ""},
		{"unexpected argument", []string{"extra"}, nil, 2, "flashsale: unexpected argument \"extra\" (see --help)\n", ""},
		{"bad combination", []string{"--store", "sqlite"}, nil, 2, "flashsale: -store sqlite needs -db PATH...", ""},
		{"bad variable", nil, []string{"FLASHSALE_INVENTORY=xyz"}, 2,
			"flashsale: FLASHSALE_INVENTORY=\"xyz\": want a whole number (see --help)\n", ""},
		{"port in use", []string{"--addr", takenAddr(t)}, nil, 1, "flashsale: listen: ...", ""},
		{"missing folder", []string{"--store", "sqlite", "--db", missing, "--addr", "127.0.0.1:0"}, nil, 1,
			"flashsale: open sale database " + missing + ": its folder " + filepath.Dir(missing) + " does not exist (flashsale creates the file, not its folder)\n", ""},
		{"new users beyond bounds", []string{"--new-shopper-rate", "1e7"}, nil, 2, "flashsale: -new-shopper-rate: ...", ""},
		{"new-user burst of none", []string{"--new-shopper-burst", "0"}, nil, 2, "flashsale: -new-shopper-burst: ...", ""},
		{"bad proxy CIDR", []string{"--trusted-proxies", "10.0.0.0/33"}, nil, 2,
			"flashsale: -trusted-proxies \"10.0.0.0/33\": want comma-separated CIDRs, such as 10.0.0.0/8,192.168.1.7/32 (see --help)\n", ""},
		{"issuer without keys", []string{"--shopper-jwt-issuer", "https://shop.example"}, nil, 2,
			"flashsale: -shopper-jwt-issuer and -shopper-jwt-audience are for the shop's tokens: give -shopper-jwt-keys or -shopper-jwt-secret too (see --help)\n", ""},
		{"keys without audience", []string{"--shopper-jwt-keys", notKeys, "--shopper-jwt-issuer", "https://shop.example"}, nil, 2,
			"flashsale: the shop's tokens need -shopper-jwt-audience, an aud they carry for this service (see --help)\n", ""},
		{"keys file missing", append([]string{"--shopper-jwt-keys", noKeys, "--addr", "127.0.0.1:0"}, shop...), nil, 2,
			"flashsale: read the shop's keys: open " + noKeys + ": no such file or directory (see --help)\n", ""},
		{"keys file not keys", append([]string{"--shopper-jwt-keys", notKeys, "--addr", "127.0.0.1:0"}, shop...), nil, 2,
			"flashsale: the shop's keys in " + notKeys + ": ...", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, c.args...)
			cmd.Env = append(withoutFlashsaleVars(os.Environ()), c.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code {
				t.Errorf("exit status %d, want %d", code, c.code)
			}
			if want, ok := strings.CutSuffix(c.stderr, "..."); ok {
				if !strings.HasPrefix(stderr.String(), want) || strings.Count(stderr.String(), "\n") != 1 {
					t.Errorf("stderr %q, want one line starting %q", stderr.String(), want)
				}
			} else if stderr.String() != c.stderr {
				t.Errorf("stderr %q, want %q", stderr.String(), c.stderr)
			}
			if c.code == 1 && strings.Contains(stderr.String(), "see --help") {
				t.Errorf("a failure, not a mistake, points at --help: %q", stderr.String())
			}
			if !strings.Contains(stdout.String(), c.stdout) {
				t.Errorf("stdout does not have %q:\n%s", c.stdout, stdout.String())
			}
			if strings.Contains(stdout.String(), "admin_token") {
				t.Errorf("a token logged by a server that did not start:\n%s", stdout.String())
			}
		})
	}
}

// withoutFlashsaleVars drops the FLASHSALE_ variables of the test's own
// environment, which would configure the server under test.
func withoutFlashsaleVars(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "FLASHSALE_") {
			out = append(out, kv)
		}
	}
	return out
}

// The shop's key files are read at start, before anything is opened or
// listened on: a file that is not there, or holds no public key or enough
// of a secret, is the operator's mistake, one line that names it (exit 2).
func TestRunRefusesBadShopKeys(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		writeFile(t, path, []byte(content))
		return path
	}
	missing := filepath.Join(dir, "missing.json")
	private := file("private.pem", "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFcq0ewQQa3EjTgYVhVsDNeYsKaOjl0ZHMkoeaeZ1UmR\n-----END PRIVATE KEY-----\n")
	for _, c := range []struct {
		name string
		args []string
		want []string // in the line
	}{
		{"keys file missing", []string{"--shopper-jwt-keys", missing}, []string{missing, "no such file"}},
		{"keys file a folder", []string{"--shopper-jwt-keys", dir}, []string{dir}},
		{"keys file empty", []string{"--shopper-jwt-keys", file("empty", "")}, []string{"empty", "neither a JWKS (JSON) nor PEM"}},
		{"keys file text", []string{"--shopper-jwt-keys", file("text", "hello\n")}, []string{"text", "neither a JWKS"}},
		{"JWKS of no keys", []string{"--shopper-jwt-keys", file("none.json", `{"keys":[]}`)}, []string{"none.json", "no keys"}},
		{"a private key", []string{"--shopper-jwt-keys", private}, []string{private, "never a private key"}},
		{"secret file missing", []string{"--shopper-jwt-secret", missing}, []string{missing, "no such file"}},
		{"secret too short", []string{"--shopper-jwt-secret", file("short", "0123456789")}, []string{"short", "at least 32"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			args := append(c.args, "--addr", "127.0.0.1:0", "--shopper-jwt-issuer", "https://shop.example", "--shopper-jwt-audience", "flashsale")
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
			if strings.Contains(out.String(), "listening") {
				t.Errorf("the server listened with a bad key file:\n%s", out.String())
			}
		})
	}
}
