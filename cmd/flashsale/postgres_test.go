package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/pgdsn"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/testkit"
)

// The flags of --store postgres: what they accept and what they refuse,
// with one line that says why.
func TestPostgresConfiguration(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string // "" when the configuration is fine
	}{
		{[]string{"--store", "postgres", "--dsn", "postgres://u@h/db"}, nil, ""},
		{[]string{"--store", "postgres"}, map[string]string{"FLASHSALE_DSN": "postgres://u@h/db"}, ""},
		{[]string{"--store", "postgres"}, nil, "-store postgres needs -dsn"},
		{[]string{"--dsn", "postgres://u@h/db"}, nil, "-dsn is only for -store postgres (the store is memory)"},
		{[]string{"--store", "sqlite", "--db", "x.db"}, map[string]string{"FLASHSALE_DSN": "postgres://u@h/db"}, "FLASHSALE_DSN is only for -store postgres (the store is sqlite)"},
		{[]string{"--store", "postgres", "--dsn", "postgres://u@h/db", "--db", "x.db"}, nil, "-db is only for -store sqlite"},
		{[]string{"--store", "mysql"}, nil, "want memory, sqlite or postgres"},
	}
	for _, c := range cases {
		_, err := parseConfig(c.args, func(k string) string { return c.env[k] })
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v %v: %v", c.args, c.env, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v %v: got %v, want an error saying %q", c.args, c.env, err, c.want)
		}
	}
	var help strings.Builder
	printUsage(&help)
	if !strings.Contains(help.String(), "-dsn") || !strings.Contains(help.String(), "postgres") {
		t.Errorf("the help does not tell of --dsn and postgres:\n%s", help.String())
	}
}

// closedPort is a port on 127.0.0.1 that nothing listens on (it was free a
// moment ago): connecting to it is refused at once.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// While PostgreSQL cannot be reached, the server waits, logging one WARN
// line per attempt with the reason and without the password; SIGTERM ends
// the wait and the server exits 0, as a clean exit.
func TestPostgresWaitsAndStopsCleanly(t *testing.T) {
	dsn := fmt.Sprintf("postgres://shop:s3cret-pw@127.0.0.1:%d/sale?sslmode=disable", closedPort(t))
	srv := testkit.SpawnProcess(t, serverbin.Path(t), "--store", "postgres", "--dsn", dsn, "--admin-token", "t")

	var waits []map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for waits = srv.Logged("waiting for PostgreSQL"); len(waits) < 2; waits = srv.Logged("waiting for PostgreSQL") {
		if l := srv.Logged("listening"); len(l) > 0 {
			t.Fatalf("listening with no database: %v", l[0])
		}
		if time.Now().After(deadline) {
			t.Fatalf("no second waiting line within 10s:\n%s", srv.LogText())
		}
		select {
		case <-srv.Exited():
			t.Fatalf("the server exited while the database was down: %v\n%s%s", srv.Err(), srv.LogText(), srv.Stderr())
		case <-time.After(10 * time.Millisecond):
		}
	}
	for i, w := range waits {
		reason, _ := w["reason"].(string)
		if w["level"] != "WARN" || w["attempt"] != float64(i+1) || reason == "" {
			t.Errorf("waiting line %d: %v", i+1, w)
		}
		if w["dsn"] != strings.Replace(dsn, "s3cret-pw", "xxxxx", 1) {
			t.Errorf("waiting line %d names %v", i+1, w["dsn"])
		}
	}
	if !strings.Contains(waits[0]["reason"].(string), "refused") {
		t.Errorf("the reason does not say the connection was refused: %v", waits[0]["reason"])
	}
	t.Logf("logged: %v", waits[0])

	stopAt := time.Now()
	srv.Stop(t) // SIGTERM; it fails the test too if the exit is not clean
	took := time.Since(stopAt)
	if took > 5*time.Second {
		t.Fatalf("the server did not exit within 5s of the stop while waiting (%v)", took)
	}
	if err := srv.Err(); err != nil {
		t.Fatalf("the server after a stop while waiting: %v, want a clean exit", err)
	}
	if took > 2*time.Second {
		t.Errorf("the stop took %v", took)
	}
	if log := srv.LogText() + srv.Stderr(); strings.Contains(log, "s3cret") {
		t.Errorf("the log shows the password:\n%s", log)
	} else if len(srv.Logged("stopped")) == 0 {
		t.Errorf("no stopped line:\n%s", log)
	}
}

// An error that waiting will not cure ends the start at once, with one
// line and without the password.
func TestPostgresBadDSNExitsAtOnce(t *testing.T) {
	for _, dsn := range []string{
		fmt.Sprintf("postgres://shop:s3cret-pw@127.0.0.1:%d/sale?sslmode=bogus", closedPort(t)),
		"postgres://shop:s3cret-pw@127.0.0.1:notaport/sale",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var out strings.Builder
		start := time.Now()
		err := run(ctx, []string{"--store", "postgres", "--dsn", dsn, "--addr", "127.0.0.1:0", "--admin-token", "t"},
			func(string) string { return "" }, &out)
		cancel()
		switch {
		case err == nil:
			t.Errorf("%s: run returned nil", pgdsn.Redact(dsn))
		case strings.Contains(err.Error(), "s3cret") || strings.Contains(out.String(), "s3cret"):
			t.Errorf("the password is shown: %v\n%s", err, out.String())
		case errors.Is(err, sale.ErrUnavailable) || strings.Contains(out.String(), "waiting for PostgreSQL"):
			t.Errorf("%s: waited for a bad DSN: %v\n%s", pgdsn.Redact(dsn), err, out.String())
		case time.Since(start) > 5*time.Second:
			t.Errorf("%s: took %v", pgdsn.Redact(dsn), time.Since(start))
		default:
			t.Logf("flashsale: %v", err)
		}
	}
}
