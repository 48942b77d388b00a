package main

import (
	"flag"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// envOf is a getenv over m.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// refusals is every mistake parseConfig must refuse, with the start of the
// line it must say. Each flag has at least one (TestEveryFlagIsChecked).
var refusals = []struct {
	args []string
	env  map[string]string
	want string // the message starts with this
}{
	// What a flag cannot read says what it wants.
	{args: []string{"--hold-ttl", "5"}, want: `-hold-ttl "5": want a duration with a unit, such as 90s, 5m or 1h30m`},
	{args: []string{"--hold-ttl", "soon"}, want: `-hold-ttl "soon": want a duration with a unit`},
	{args: []string{"--idempotency-ttl", "24"}, want: `-idempotency-ttl "24": want a duration with a unit, such as 90s, 5m or 1h30m`},
	{args: []string{"--inventory", "x"}, want: `-inventory "x": want a whole number`},
	{args: []string{"--inventory", "2.5"}, want: `-inventory "2.5": want a whole number`},
	{args: []string{"--rate-limit", "fast"}, want: `-rate-limit "fast": want a number of attempts per second`},
	{args: []string{"--rate-burst", "lots"}, want: `-rate-burst "lots": want a whole number`},
	{args: []string{"--pprof=maybe"}, want: `-pprof "maybe": want true or false`},
	{args: []string{"--pprof", "maybe"}, want: `unexpected argument "maybe": -pprof takes no separate value; write -pprof=true or -pprof=false`},
	{args: []string{"--log-level", "loud"}, want: `-log-level "loud": want debug, info, warn or error`},
	{args: []string{"--sweep-interval", "1"}, want: `-sweep-interval "1": want a duration with a unit`},
	{args: []string{"--read-timeout", "10"}, want: `-read-timeout "10": want a duration with a unit`},
	{args: []string{"--max-streams", "lots"}, want: `-max-streams "lots": want a whole number`},
	{args: []string{"--inventory"}, want: `flag needs an argument: -inventory`},
	{args: []string{"--no-such-flag"}, want: `flag provided but not defined: -no-such-flag`},
	{args: []string{"extra"}, want: `unexpected argument "extra"`},
	{args: []string{"--inventory", "3", "extra"}, want: `unexpected argument "extra"`},

	// The store and where it is.
	{args: []string{"--store", "nosuch"}, want: `-store "nosuch": want memory, sqlite or postgres`},
	{args: []string{"--store", "sqlite"}, want: `-store sqlite needs -db PATH`},
	{args: []string{"--db", "sale.db"}, want: `-db is only for -store sqlite (the store is memory)`},
	{args: []string{"--store", "postgres"}, want: `-store postgres needs -dsn postgres://`},
	{args: []string{"--store", "sqlite", "--db", "sale.db", "--dsn", "postgres://h/db"}, want: `-dsn is only for -store postgres (the store is sqlite)`},
	{env: map[string]string{"FLASHSALE_DSN": "postgres://h/db"}, want: `FLASHSALE_DSN is only for -store postgres (the store is memory)`},
	{env: map[string]string{"FLASHSALE_STORE": "sqlite"}, want: `FLASHSALE_STORE=sqlite needs -db PATH`},

	// The address: empty would listen on every interface.
	{args: []string{"--addr", ""}, want: `-addr is empty: want HOST:PORT, such as 127.0.0.1:8080`},
	{args: []string{"--addr", "8080"}, want: `-addr "8080": want HOST:PORT`},
	{args: []string{"--addr", "127.0.0.1:99999"}, want: `-addr "127.0.0.1:99999": the port must be a number from 0 to 65535`},
	{args: []string{"--addr", "127.0.0.1:http"}, want: `-addr "127.0.0.1:http": the port must be a number`},

	// An admin token no client can send; the message never shows it.
	{args: []string{"--admin-token", "my secret"}, want: `-admin-token is not a bearer token: character 3 is a space; want letters, digits and -._~+/, then = only at the end`},
	{args: []string{"--admin-token", "my\tsecret"}, want: `-admin-token is not a bearer token: character 3 is a tab`},
	{args: []string{"--admin-token", "my\nsecret"}, want: `-admin-token is not a bearer token: character 3 is a line break`},
	{args: []string{"--admin-token", "my\x00secret"}, want: `-admin-token is not a bearer token: character 3 is a control character`},
	{args: []string{"--admin-token", "mysécret"}, want: `-admin-token is not a bearer token: character 4 is not ASCII`},
	{args: []string{"--admin-token", "my=secret"}, want: `-admin-token is not a bearer token: character 3 is '='`},
	{args: []string{"--admin-token", "my:secret"}, want: `-admin-token is not a bearer token: character 3 is ':'`},
	{args: []string{"--admin-token", "==="}, want: `-admin-token is not a bearer token: it is only = signs`},
	{env: map[string]string{"FLASHSALE_ADMIN_TOKEN": "my secret\n"}, want: `FLASHSALE_ADMIN_TOKEN is not a bearer token: character 3 is a space`},

	// Durations: 0 or less would turn a guard off, not tighten it.
	{args: []string{"--hold-ttl", "0s"}, want: `-hold-ttl 0s: `},
	{args: []string{"--hold-ttl", "500ns"}, want: `-hold-ttl 500ns: `},
	{args: []string{"--idempotency-ttl", "0s"}, want: `-idempotency-ttl 0s: idempotency key TTL 0s must be at least 1µs`},
	{args: []string{"--idempotency-ttl", "-1h"}, want: `-idempotency-ttl -1h0m0s: `},
	{args: []string{"--idempotency-ttl", "500ns"}, want: `-idempotency-ttl 500ns: `},
	{args: []string{"--sweep-interval", "0s"}, want: `-sweep-interval 0s must be positive`},
	{args: []string{"--sweep-interval", "-1s"}, want: `-sweep-interval -1s must be positive`},
	{args: []string{"--read-header-timeout", "0s"}, want: `-read-header-timeout 0s must be positive: net/http takes 0 or less as no limit, which would turn this guard off`},
	{args: []string{"--read-timeout", "-5s"}, want: `-read-timeout -5s must be positive: net/http takes 0 or less as no limit`},
	{args: []string{"--write-timeout", "0s"}, want: `-write-timeout 0s must be positive: net/http takes 0 or less as no limit`},
	{args: []string{"--idle-timeout", "0s"}, want: `-idle-timeout 0s must be positive: net/http takes 0 or less as no limit`},
	{args: []string{"--shutdown-timeout", "0s"}, want: `-shutdown-timeout 0s must be positive: 0 or less would cut off the requests in flight at once`},
	{env: map[string]string{"FLASHSALE_IDLE_TIMEOUT": "-1m"}, want: `FLASHSALE_IDLE_TIMEOUT=-1m0s must be positive`},

	// The rate limit's bounds are httpapi's; only the flag is named here.
	{args: []string{"--rate-limit", "-1"}, want: `-rate-limit: `},
	{args: []string{"--rate-limit", "NaN"}, want: `-rate-limit: `},
	{args: []string{"--rate-limit", "+Inf"}, want: `-rate-limit: `},
	{args: []string{"--rate-limit", "1e7"}, want: `-rate-limit: `},
	{args: []string{"--rate-limit", "0.000001"}, want: `-rate-limit: `},
	{args: []string{"--rate-burst", "0"}, want: `-rate-burst: `},
	{args: []string{"--rate-burst", "2000000"}, want: `-rate-burst: `},
	{env: map[string]string{"FLASHSALE_RATE_BURST": "-3"}, want: `FLASHSALE_RATE_BURST: `},

	// The limit on new users per address has the same bounds.
	{args: []string{"--new-shopper-rate", "fast"}, want: `-new-shopper-rate "fast": want a number of new users per second`},
	{args: []string{"--new-shopper-rate", "-1"}, want: `-new-shopper-rate: `},
	{args: []string{"--new-shopper-rate", "NaN"}, want: `-new-shopper-rate: `},
	{args: []string{"--new-shopper-rate", "+Inf"}, want: `-new-shopper-rate: `},
	{args: []string{"--new-shopper-rate", "1e7"}, want: `-new-shopper-rate: `},
	{args: []string{"--new-shopper-rate", "0.000001"}, want: `-new-shopper-rate: `},
	{args: []string{"--new-shopper-burst", "lots"}, want: `-new-shopper-burst "lots": want a whole number`},
	{args: []string{"--new-shopper-burst", "0"}, want: `-new-shopper-burst: `},
	{args: []string{"--new-shopper-burst", "2000000"}, want: `-new-shopper-burst: `},
	{env: map[string]string{"FLASHSALE_NEW_SHOPPER_RATE": "-2"}, want: `FLASHSALE_NEW_SHOPPER_RATE: `},
	{env: map[string]string{"FLASHSALE_NEW_SHOPPER_BURST": "-3"}, want: `FLASHSALE_NEW_SHOPPER_BURST: `},

	// Trusted proxies are CIDRs (or addresses), each of them.
	{args: []string{"--trusted-proxies", "10.0.0.0/33"}, want: `-trusted-proxies "10.0.0.0/33": want comma-separated CIDRs, such as 10.0.0.0/8,192.168.1.7/32`},
	{args: []string{"--trusted-proxies", "10.0.0.0/8,proxy.internal"}, want: `-trusted-proxies "10.0.0.0/8,proxy.internal": want comma-separated CIDRs`},
	{args: []string{"--trusted-proxies", "10.0.0.0/8;192.168.0.0/16"}, want: `-trusted-proxies "10.0.0.0/8;192.168.0.0/16": want comma-separated CIDRs`},
	{env: map[string]string{"FLASHSALE_TRUSTED_PROXIES": "banana"}, want: `FLASHSALE_TRUSTED_PROXIES="banana": want comma-separated CIDRs`},

	// The shop's tokens are checked for an issuer and an audience, which
	// mean nothing without them. (What the files hold is read at start:
	// TestRunRefusesBadShopKeys.)
	{args: []string{"--shopper-jwt-issuer", "https://shop.example"}, want: `-shopper-jwt-issuer and -shopper-jwt-audience are for the shop's tokens: give -shopper-jwt-keys or -shopper-jwt-secret too`},
	{args: []string{"--shopper-jwt-audience", "flashsale"}, want: `-shopper-jwt-issuer and -shopper-jwt-audience are for the shop's tokens`},
	{args: []string{"--shopper-jwt-keys", "keys.json"}, want: `the shop's tokens need -shopper-jwt-issuer, the iss they carry`},
	{args: []string{"--shopper-jwt-keys", "keys.json", "--shopper-jwt-audience", "flashsale"}, want: `the shop's tokens need -shopper-jwt-issuer`},
	{args: []string{"--shopper-jwt-keys", "keys.json", "--shopper-jwt-issuer", "https://shop.example"}, want: `the shop's tokens need -shopper-jwt-audience, an aud they carry for this service`},
	{args: []string{"--shopper-jwt-secret", "secret", "--shopper-jwt-issuer", "https://shop.example"}, want: `the shop's tokens need -shopper-jwt-audience`},
	{args: []string{"--shopper-jwt-secret", "secret", "--shopper-jwt-audience", "flashsale"}, want: `the shop's tokens need -shopper-jwt-issuer`},
	{env: map[string]string{"FLASHSALE_SHOPPER_JWT_KEYS": "keys.json", "FLASHSALE_SHOPPER_JWT_AUDIENCE": "flashsale"}, want: `the shop's tokens need -shopper-jwt-issuer, the iss they carry`},

	// Webhooks: endpoints and the secret go together; each endpoint is an
	// http(s) URL, given once. (What the secret file holds is read at start:
	// TestRunRefusesBadWebhookSecrets.)
	{args: []string{"--webhook-url", "https://shop.example/hooks"}, want: `-webhook-url needs -webhook-secret-file, the file of the secret`},
	{args: []string{"--webhook-secret-file", "secret"}, want: `-webhook-secret-file is for webhooks: give -webhook-url too`},
	{args: []string{"--webhook-url", "ftp://shop.example/hooks", "--webhook-secret-file", "secret"}, want: `-webhook-url: webhook endpoint "ftp://shop.example/hooks" must be an http:// or https:// URL`},
	{args: []string{"--webhook-url", "https:///hooks", "--webhook-secret-file", "secret"}, want: `-webhook-url: webhook endpoint "https:///hooks" has no host`},
	{env: map[string]string{"FLASHSALE_WEBHOOK_URL": "https://a.example/h https://a.example/h", "FLASHSALE_WEBHOOK_SECRET_FILE": "secret"}, want: `FLASHSALE_WEBHOOK_URL: webhook endpoint https://a.example/h is given twice`},
	{args: []string{"--webhook-max-age", "0s"}, want: `-webhook-max-age 0s must be at least 1s`},
	{args: []string{"--webhook-max-age", "1d"}, want: `-webhook-max-age "1d": want a duration with a unit`},

	// Numbers.
	{args: []string{"--inventory", "-5"}, want: `-inventory -5 must be within 0..1000000000 (or -1)`},
	{args: []string{"--inventory", "1000000001"}, want: `-inventory 1000000001 must be within 0..1000000000 (or -1)`},
	{args: []string{"--max-streams", "0"}, want: `-max-streams 0 must be at least 1`},
	{args: []string{"--max-streams-per-user", "-1"}, want: `-max-streams-per-user -1 must be at least 1`},

	// A bad variable for a flag the command line does not give names the
	// variable and says what it wants.
	{env: map[string]string{"FLASHSALE_INVENTORY": "xyz"}, want: `FLASHSALE_INVENTORY="xyz": want a whole number`},
	{env: map[string]string{"FLASHSALE_HOLD_TTL": "5"}, want: `FLASHSALE_HOLD_TTL="5": want a duration with a unit`},
	{env: map[string]string{"FLASHSALE_PPROF": "maybe"}, want: `FLASHSALE_PPROF="maybe": want true or false`},
	{env: map[string]string{"FLASHSALE_LOG_LEVEL": "loud"}, want: `FLASHSALE_LOG_LEVEL="loud": want debug, info, warn or error`},
	{env: map[string]string{"FLASHSALE_HOLD_TTL": "0s"}, want: `FLASHSALE_HOLD_TTL=0s: `},
	{env: map[string]string{"FLASHSALE_IDEMPOTENCY_TTL": "1d"}, want: `FLASHSALE_IDEMPOTENCY_TTL="1d": want a duration with a unit`},
	{env: map[string]string{"FLASHSALE_IDEMPOTENCY_TTL": "0s"}, want: `FLASHSALE_IDEMPOTENCY_TTL=0s: `},
}

func TestParseConfigRefuses(t *testing.T) {
	for _, c := range refusals {
		t.Run(fmt.Sprintf("%q %v", c.args, c.env), func(t *testing.T) {
			_, err := parseConfig(c.args, envOf(c.env))
			if err == nil {
				t.Fatalf("parseConfig accepted it, want %q", c.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, c.want) {
				t.Errorf("got  %q\nwant %q...", msg, c.want)
			}
			if strings.ContainsAny(msg, "\r\n") || strings.Contains(msg, "parse error") || strings.Contains(msg, "invalid value") {
				t.Errorf("not one clear line: %q", msg)
			}
			if tok := argValue(c.args, "--admin-token") + c.env["FLASHSALE_ADMIN_TOKEN"]; tok != "" && strings.Contains(msg, strings.TrimSpace(tok)) {
				t.Errorf("the message shows the token: %q", msg)
			}
		})
	}
}

// A flag added without a check (and a case above) fails here.
func TestEveryFlagIsChecked(t *testing.T) {
	flags(&config{}).VisitAll(func(f *flag.Flag) {
		for _, c := range refusals {
			for _, a := range c.args {
				if a == "--"+f.Name || strings.HasPrefix(a, "--"+f.Name+"=") {
					return
				}
			}
			if _, ok := c.env[envName(f.Name)]; ok {
				return
			}
		}
		t.Errorf("no refusal tests -%s", f.Name)
	})
}

// The command line wins: a variable behind a flag the command line gives is
// not read, so even one that could not be read stops nothing.
func TestParseConfigCommandLineWins(t *testing.T) {
	cases := []struct {
		args []string
		bad  string // the flag's variable, set to a value it would refuse
	}{
		{[]string{"--store", "memory"}, "nosuch"},
		{[]string{"--db", ""}, "sale.db"}, // with the memory store
		{[]string{"--dsn", ""}, "postgres://h/db"},
		{[]string{"--addr", "127.0.0.1:0"}, "8080"},
		{[]string{"--admin-token", "t"}, "my secret"},
		{[]string{"--hold-ttl", "1m"}, "5"},
		{[]string{"--idempotency-ttl", "1h"}, "0s"},
		{[]string{"--rate-limit", "0"}, "fast"},
		{[]string{"--rate-burst", "3"}, "0"},
		{[]string{"--inventory", "3"}, "xyz"},
		{[]string{"--sweep-interval", "2s"}, "0s"},
		{[]string{"--log-level", "debug"}, "loud"},
		{[]string{"--pprof"}, "maybe"},
		{[]string{"--read-header-timeout", "1s"}, "0"},
		{[]string{"--read-timeout", "1s"}, "-1s"},
		{[]string{"--write-timeout", "1s"}, "forever"},
		{[]string{"--idle-timeout", "1s"}, "0s"},
		{[]string{"--shutdown-timeout", "1s"}, "0s"},
		{[]string{"--max-streams", "50"}, "0"},
		{[]string{"--max-streams-per-user", "2"}, "many"},
		{[]string{"--new-shopper-rate", "0"}, "fast"},
		{[]string{"--new-shopper-burst", "3"}, "0"},
		{[]string{"--trusted-proxies", "10.0.0.0/8"}, "banana"},
		// Given empty on the command line, the shop's flags stay unset
		// (the sale's own tokens) whatever their variables say.
		{[]string{"--shopper-jwt-keys", ""}, "/nonexistent/keys.json"},
		{[]string{"--shopper-jwt-secret", ""}, "/nonexistent/secret"},
		{[]string{"--shopper-jwt-issuer", ""}, "https://shop.example"},
		{[]string{"--shopper-jwt-audience", ""}, "flashsale"},
		{[]string{"--webhook-url", ""}, "ftp://nowhere"},
		{[]string{"--webhook-secret-file", ""}, "/nonexistent/secret"},
		{[]string{"--webhook-max-age", "1h"}, "0s"},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		name := strings.TrimPrefix(c.args[0], "--")
		covered[name] = true
		t.Run(name, func(t *testing.T) {
			want, err := parseConfig(c.args, envOf(nil))
			if err != nil {
				t.Fatalf("without the variable: %v", err)
			}
			got, err := parseConfig(c.args, envOf(map[string]string{envName(name): c.bad}))
			if err != nil {
				t.Fatalf("%s=%q beside %v: %v", envName(name), c.bad, c.args, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("the variable changed the configuration:\n got %+v\nwant %+v", got, want)
			}
		})
	}
	flags(&config{}).VisitAll(func(f *flag.Flag) {
		if !covered[f.Name] {
			t.Errorf("no case for -%s", f.Name)
		}
	})
}

// The environment fills the flags the command line leaves out.
func TestParseConfigReadsTheEnvironment(t *testing.T) {
	env := map[string]string{
		"FLASHSALE_INVENTORY":       "3",
		"FLASHSALE_HOLD_TTL":        "90s",
		"FLASHSALE_IDEMPOTENCY_TTL": "36h",
		"FLASHSALE_PPROF":           "true",
		"FLASHSALE_RATE_LIMIT":      "0",
		"FLASHSALE_STORE":           "", // empty counts as unset
	}
	c, err := parseConfig([]string{"--hold-ttl", "2m"}, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.inventory != 3 || c.holdTTL.String() != "2m0s" || c.idempotencyTTL != 36*time.Hour || !c.pprof || c.rateLimit != 0 || c.store != "memory" {
		t.Fatalf("got %+v", c)
	}
}

func TestParseConfigTrimsTheAdminToken(t *testing.T) {
	cases := []struct {
		name        string
		args        []string
		env         string // FLASHSALE_ADMIN_TOKEN
		token, from string
	}{
		{"env file newline", nil, "s3cret\n", "s3cret", "FLASHSALE_ADMIN_TOKEN"},
		{"CRLF", nil, "s3cret\r\n", "s3cret", "FLASHSALE_ADMIN_TOKEN"},
		{"flag with spaces", []string{"--admin-token", "  s3cret\t"}, "", "s3cret", "-admin-token"},
		{"only whitespace is no token", nil, "\n", "", "FLASHSALE_ADMIN_TOKEN"},
		{"clean", []string{"--admin-token", "s3cret"}, "", "s3cret", ""},
		{"every b64token character", []string{"--admin-token", "aZ09-._~+/=="}, "", "aZ09-._~+/==", ""},
		{"none", nil, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseConfig(c.args, envOf(map[string]string{"FLASHSALE_ADMIN_TOKEN": c.env}))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.adminToken != c.token || cfg.tokenTrimmedFrom != c.from {
				t.Errorf("token %q trimmed from %q, want %q from %q", cfg.adminToken, cfg.tokenTrimmedFrom, c.token, c.from)
			}
		})
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil, envOf(nil))
	if err != nil {
		t.Fatalf("the defaults are refused: %v", err)
	}
	if c.addr != "127.0.0.1:8080" || c.inventory != -1 || c.rateLimit != 5 || c.rateBurst != 10 || c.idempotencyTTL != sale.DefaultKeyTTL {
		t.Errorf("defaults: %+v", c)
	}
	// New users are limited per address by default, nobody's proxy is
	// trusted, and the sale issues its own shopper tokens.
	if c.newShopperRate != 1 || c.newShopperBurst != 20 || len(c.trustedProxies) != 0 ||
		c.jwtKeys != "" || c.jwtSecret != "" || c.jwtIssuer != "" || c.jwtAudience != "" {
		t.Errorf("defaults: %+v", c)
	}
}

// --trusted-proxies takes CIDRs and bare addresses, masked, with spaces
// around the commas.
func TestParseConfigTrustedProxies(t *testing.T) {
	c, err := parseConfig([]string{"--trusted-proxies", "10.1.2.3/8, 192.168.1.7,::1"}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.trustedProxies.String(), "10.0.0.0/8,192.168.1.7/32,::1/128"; got != want {
		t.Errorf("trusted proxies %s, want %s", got, want)
	}
}
