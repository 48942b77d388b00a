package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// server is one run of the real command, as a user would start it.
type server struct {
	url    string
	cancel context.CancelFunc
	done   chan error
	read   chan struct{} // closed once every log line is in logs
	once   sync.Once

	mu   sync.Mutex
	logs []map[string]any
}

// start calls run on a free port and waits for its "listening" line.
func start(t *testing.T, args []string, env map[string]string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &server{cancel: cancel, done: make(chan error, 1), read: make(chan struct{})}
	listening := make(chan string, 1)
	go func() {
		defer close(s.read)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Errorf("log line is not JSON: %q", sc.Text())
				continue
			}
			s.mu.Lock()
			s.logs = append(s.logs, line)
			s.mu.Unlock()
			if line["msg"] == "listening" {
				listening <- line["addr"].(string)
			}
		}
	}()
	go func() {
		err := run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, pw)
		pw.Close()
		s.done <- err
	}()
	select {
	case addr := <-listening:
		s.url = "http://" + addr
	case err := <-s.done:
		t.Fatalf("run returned before listening: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no listening line within 10s")
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels the run (as SIGTERM does) and waits for it to return.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.once.Do(func() {
		s.cancel()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("run did not return within 15s of shutdown")
			return
		}
		// run has closed its log; the reader may still be parsing the
		// last lines (the "stopped" one, say) when run returns.
		<-s.read
	})
}

func (s *server) logged(msg string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.logs {
		if l["msg"] == msg {
			return l
		}
	}
	return nil
}

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

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
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
	s := start(t, []string{"--inventory", "1", "--admin-token", "secret"}, nil)
	if code, body := post(t, s.url+"/reserve", `{"user_id":"alice"}`); code != 201 || body["status"] != "held" {
		t.Fatalf("reserve: %d %v", code, body)
	}
	if code, body := post(t, s.url+"/reserve", `{"user_id":"bob"}`); code != 202 || body["waitlist_position"] != 1.0 {
		t.Fatalf("reserve when sold out: %d %v", code, body)
	}
	if code, _ := post(t, s.url+"/initialize", `{"total_inventory":2}`, "Authorization", "Bearer secret"); code != 200 {
		t.Fatalf("initialize: %d", code)
	}
	// Raising the stock promoted bob.
	if code, body := get(t, s.url+"/users/bob"); code != 200 || body["state"] != "held" {
		t.Fatalf("bob: %d %v", code, body)
	}
	if code, _ := get(t, s.url+"/healthz"); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	if s.logged("no admin token configured; generated one for this run") != nil {
		t.Error("a configured token must not be replaced")
	}
	s.stop(t)
	if s.logged("stopped") == nil {
		t.Error(`no "stopped" log line after shutdown`)
	}
}

func TestRunGeneratesAnAdminToken(t *testing.T) {
	s := start(t, nil, nil)
	line := s.logged("no admin token configured; generated one for this run")
	if line == nil {
		t.Fatal("the generated token was not logged")
	}
	token, _ := line["admin_token"].(string)
	if len(token) < 26 {
		t.Fatalf("token %q is too short to be unguessable", token)
	}
	if code, _ := post(t, s.url+"/initialize", `{"total_inventory":2}`, "Authorization", "Bearer "+token); code != 200 {
		t.Fatalf("initialize with the logged token: %d", code)
	}
	if code, _ := post(t, s.url+"/initialize", `{"total_inventory":2}`, "Authorization", "Bearer guess"); code != 401 {
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
	s := start(t, []string{"--inventory", "4"}, env)
	if _, body := get(t, s.url+"/status"); body["total_inventory"] != 4.0 {
		t.Fatalf("status %v: the flag should win", body)
	}
	if code, _ := post(t, s.url+"/initialize", `{"total_inventory":5}`, "Authorization", "Bearer from-env"); code != 200 {
		t.Fatalf("token from the environment: %d", code)
	}
	// FLASHSALE_RATE_LIMIT=0 turned limiting off: 30 attempts, no 429.
	for i := range 30 {
		if code, _ := post(t, s.url+"/reserve", `{"user_id":"eager"}`); code == 429 {
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
			if _, code := outcome(err); code != c.code {
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
	s := start(t, []string{"--inventory", "1", "--admin-token", "t"}, nil)
	body, w := io.Pipe()
	req, err := http.NewRequest("POST", s.url+"/reserve", body)
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
	s.cancel()                         // shutdown begins
	time.Sleep(100 * time.Millisecond)
	if _, err := w.Write([]byte(`"late"}`)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if code := <-answered; code != 201 {
		t.Fatalf("in-flight request answered %d, want 201", code)
	}
}
