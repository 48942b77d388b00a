package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/pgdsn"
	"github.com/flashsale/flashsale/internal/sale"
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

// runLogged calls run in the background, its log lines on a channel.
type runLogged struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned err
	read   chan struct{} // closed when every line run wrote has been read
	err    error
	lines  chan map[string]any
	mu     sync.Mutex
	all    []string
}

func startRun(t *testing.T, args ...string) *runLogged {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runLogged{cancel: cancel, done: make(chan struct{}), read: make(chan struct{}), lines: make(chan map[string]any, 1000)}
	pr, pw := io.Pipe()
	go func() {
		defer close(r.read)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			r.mu.Lock()
			r.all = append(r.all, sc.Text())
			r.mu.Unlock()
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Errorf("log line is not JSON: %q", sc.Text())
				continue
			}
			select {
			case r.lines <- line:
			default:
			}
		}
	}()
	go func() {
		r.err = run(ctx, args, func(string) string { return "" }, pw)
		pw.Close()
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			t.Error("run did not return within 15s of cancel")
		}
	})
	return r
}

func (r *runLogged) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.all, "\n")
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
// line per attempt with the reason and without the password; SIGTERM (here
// the cancelled context) ends the wait and run returns nil, as a clean exit.
func TestPostgresWaitsAndStopsCleanly(t *testing.T) {
	dsn := fmt.Sprintf("postgres://shop:s3cret-pw@127.0.0.1:%d/sale?sslmode=disable", closedPort(t))
	r := startRun(t, "--store", "postgres", "--dsn", dsn, "--addr", "127.0.0.1:0", "--admin-token", "t")

	var waits []map[string]any
	deadline := time.After(10 * time.Second)
	for len(waits) < 2 {
		select {
		case line := <-r.lines:
			switch line["msg"] {
			case "waiting for PostgreSQL":
				waits = append(waits, line)
			case "listening":
				t.Fatalf("listening with no database: %v", line)
			}
		case <-r.done:
			t.Fatalf("run returned while the database was down: %v\n%s", r.err, r.log())
		case <-deadline:
			t.Fatalf("no second waiting line within 10s:\n%s", r.log())
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
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Fatalf("run after a stop while waiting: %v, want nil (a clean exit)", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return within 5s of the stop while waiting")
	}
	if took := time.Since(stopAt); took > 2*time.Second {
		t.Errorf("the stop took %v", took)
	}
	<-r.read
	if log := r.log(); strings.Contains(log, "s3cret") {
		t.Errorf("the log shows the password:\n%s", log)
	} else if !strings.Contains(log, `"msg":"stopped"`) {
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
