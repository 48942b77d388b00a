package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/cli"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/testkit"
)

// TestMain gives serverbin a folder to build the server into.
func TestMain(m *testing.M) { serverbin.Main(m) }

func post(t *testing.T, url, body string, header ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func get(t *testing.T, url string, header ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

// do sends req as one of t's shoppers would, with the token of the user it
// is about (shopperClient), unless it sets Authorization itself.
func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := shopperClient(t, 0, nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil && err != io.EOF {
		t.Fatalf("%s %s: body is not JSON: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, out
}

func TestRunServesTheSale(t *testing.T) {
	s := testkit.StartRun(t, run, []string{"--inventory", "1", "--admin-token", "secret"}, nil)
	if code, body := post(t, s.URL+"/reserve", `{"user_id":"alice"}`); code != 201 || body["status"] != "held" {
		t.Fatalf("reserve: %d %v", code, body)
	}
	if code, body := post(t, s.URL+"/reserve", `{"user_id":"bob"}`); code != 202 || body["waitlist_position"] != 1.0 {
		t.Fatalf("reserve when sold out: %d %v", code, body)
	}
	if code, _ := post(t, s.URL+"/initialize", `{"total_inventory":2}`, "Authorization", "Bearer secret"); code != 200 {
		t.Fatalf("initialize: %d", code)
	}
	// Raising the stock promoted bob.
	if code, body := get(t, s.URL+"/users/bob"); code != 200 || body["state"] != "held" {
		t.Fatalf("bob: %d %v", code, body)
	}
	if code, _ := get(t, s.URL+"/healthz"); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	if len(s.Logged("no admin token configured; generated one for this run")) > 0 {
		t.Error("a configured token must not be replaced")
	}
	s.Stop(t)
	if len(s.Logged("stopped")) == 0 {
		t.Error(`no "stopped" log line after shutdown`)
	}
}

func TestRunGeneratesAnAdminToken(t *testing.T) {
	s := testkit.StartRun(t, run, nil, nil)
	lines := s.Logged("no admin token configured; generated one for this run")
	if len(lines) == 0 {
		t.Fatal("the generated token was not logged")
	}
	token, _ := lines[0]["admin_token"].(string)
	if len(token) < 26 {
		t.Fatalf("token %q is too short to be unguessable", token)
	}
	if code, _ := post(t, s.URL+"/initialize", `{"total_inventory":2}`, "Authorization", "Bearer "+token); code != 200 {
		t.Fatalf("initialize with the logged token: %d", code)
	}
	if code, _ := post(t, s.URL+"/initialize", `{"total_inventory":2}`, "Authorization", "Bearer guess"); code != 401 {
		t.Fatalf("initialize with a guess: %d", code)
	}
}

func TestRunReadsTheEnvironment(t *testing.T) {
	env := map[string]string{
		"FLASHSALE_INVENTORY":   "3",
		"FLASHSALE_ADMIN_TOKEN": "from-env",
		"FLASHSALE_RATE_LIMIT":  "0",
	}
	// A flag on the command line wins over the environment.
	s := testkit.StartRun(t, run, []string{"--inventory", "4"}, env)
	if _, body := get(t, s.URL+"/status"); body["total_inventory"] != 4.0 {
		t.Fatalf("status %v: the flag should win", body)
	}
	if code, _ := post(t, s.URL+"/initialize", `{"total_inventory":5}`, "Authorization", "Bearer from-env"); code != 200 {
		t.Fatalf("token from the environment: %d", code)
	}
	// FLASHSALE_RATE_LIMIT=0 turned limiting off: 30 attempts, no 429.
	for i := range 30 {
		if code, _ := post(t, s.URL+"/reserve", `{"user_id":"eager"}`); code == 429 {
			t.Fatalf("attempt %d was rate limited with limiting off", i)
		}
	}
}

func TestRunRejectsBadConfiguration(t *testing.T) {
	taken := takenAddr(t)
	cases := []struct {
		args []string
		env  map[string]string
		want string
		code int // the exit status main gives it
	}{
		{[]string{"--hold-ttl", "0s"}, nil, "hold-ttl", 2},
		{[]string{"--hold-ttl", "soon"}, nil, "hold-ttl", 2},
		{[]string{"--idempotency-ttl", "0s"}, nil, "idempotency-ttl", 2},
		{nil, map[string]string{"FLASHSALE_IDEMPOTENCY_TTL": "forever"}, "FLASHSALE_IDEMPOTENCY_TTL", 2},
		{[]string{"--rate-limit", "-1"}, nil, "rate-limit", 2},
		{[]string{"--rate-burst", "0"}, nil, "rate-burst", 2},
		{[]string{"--inventory", "-5"}, nil, "inventory", 2},
		{[]string{"--inventory", "1000000001"}, nil, "inventory", 2},
		{[]string{"--sweep-interval", "0s"}, nil, "sweep-interval", 2},
		{[]string{"--log-level", "loud"}, nil, "log-level", 2},
		{[]string{"--no-such-flag"}, nil, "no-such-flag", 2},
		{[]string{"extra"}, nil, "unexpected argument", 2},
		{[]string{"--addr", "127.0.0.1:99999"}, nil, "-addr", 2},
		{[]string{"--addr", taken}, nil, "listen", 1},
		{nil, map[string]string{"FLASHSALE_HOLD_TTL": "xyz"}, "FLASHSALE_HOLD_TTL", 2},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " ")+c.want, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, c.args, func(k string) string { return c.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("run(%v) = %v, want an error naming %q", c.args, err, c.want)
			}
			if _, code := cli.Outcome("flashsale", err); code != c.code {
				t.Errorf("run(%v) = %v: exit status %d, want %d", c.args, err, code, c.code)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var out strings.Builder
	err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "-hold-ttl") || !strings.Contains(out.String(), "FLASHSALE_") {
		t.Fatalf("help: %v\n%s", err, out.String())
	}
}

// A request in flight when shutdown starts is answered, not dropped.
func TestRunFinishesRequestsInFlight(t *testing.T) {
	s := testkit.StartRun(t, run, []string{"--inventory", "1", "--admin-token", "t"}, nil)
	body, w := io.Pipe()
	req, err := http.NewRequest("POST", s.URL+"/reserve", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	answered := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("in-flight request failed: %v", err)
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	if _, err := w.Write([]byte(`{"user_id":`)); err != nil { // the request is now being read
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the server start reading it
	// Shutdown begins. Stop returns once run has, which waits for this
	// request: it goes on beside the rest of the test.
	stopped := make(chan struct{})
	go func() { defer close(stopped); s.Stop(t) }()
	defer func() { w.Close(); <-stopped }()
	time.Sleep(100 * time.Millisecond)
	if _, err := w.Write([]byte(`"late"}`)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if code := <-answered; code != 201 {
		t.Fatalf("in-flight request answered %d, want 201", code)
	}
}
