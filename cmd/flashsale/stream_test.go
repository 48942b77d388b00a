package main

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/testkit"
)

// openStream opens user's event stream on the server at url, with their
// token, and returns its lines.
func openStream(t *testing.T, ctx context.Context, url, user string) <-chan string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/users/"+user+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := shopperClient(t, 0, nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("events of %s: %d", user, resp.StatusCode)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}

// waitLine reads lines until one starts with prefix.
func waitLine(t *testing.T, lines <-chan string, prefix string, within time.Duration) {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended before %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q within %v", prefix, within)
		}
	}
}

// The server's read and write timeouts bound requests, not streams: a
// stream open for longer than both still hears of the next change.
func TestStreamOutlivesTheServerTimeouts(t *testing.T) {
	s := testkit.StartRun(t, run, []string{"--inventory", "1", "--admin-token", "t", "--rate-limit", "0",
		"--read-timeout", "1s", "--write-timeout", "1s"}, nil)
	_, hold := post(t, s.URL+"/reserve", `{"user_id":"alice"}`)
	post(t, s.URL+"/reserve", `{"user_id":"bob"}`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines := openStream(t, ctx, s.URL, "bob")
	waitLine(t, lines, "event: state", 5*time.Second)

	time.Sleep(2500 * time.Millisecond) // past both timeouts
	if code, _ := post(t, s.URL+"/reservations/"+hold["reservation_id"].(string)+"/cancel", ""); code != http.StatusOK {
		t.Fatalf("cancel: %d", code)
	}
	waitLine(t, lines, "event: promoted", 5*time.Second)
}

// Shutdown ends open streams, so that it finishes without waiting out
// --shutdown-timeout for connections that never go idle.
func TestShutdownEndsStreams(t *testing.T) {
	s := testkit.StartRun(t, run, []string{"--inventory", "1", "--admin-token", "t", "--shutdown-timeout", "30s"}, nil)
	// carol's reserve gives her the token her stream takes.
	if code, body := post(t, s.URL+"/reserve", `{"user_id":"carol"}`); code != http.StatusCreated {
		t.Fatalf("carol: %d %v", code, body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines := openStream(t, ctx, s.URL, "carol")
	waitLine(t, lines, "event: state", 5*time.Second)

	began := time.Now()
	s.Stop(t)
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("shutdown took %v with a stream open", took)
	}
	for range lines { // the stream ends: the channel closes
	}
	if len(s.Logged("stopped")) == 0 {
		t.Error("no stopped line")
	}
}

// A stream on one server hears of a change made on another: each server's
// hub follows its store's feed, which carries every server's commits.
func TestStreamHearsOfAnotherServersChange(t *testing.T) {
	dsn := pgtest.Schema(t)
	bin := serverbin.Path(t)
	a := testkit.StartProcess(t, bin, postgresArgs(dsn, "--inventory", "1")...)
	b := testkit.StartProcess(t, bin, postgresArgs(dsn)...)
	code, hold := post(t, a.URL+"/reserve", `{"user_id":"alice"}`)
	if code != http.StatusCreated {
		t.Fatalf("alice on a: %d %v", code, hold)
	}
	if code, _ := post(t, a.URL+"/reserve", `{"user_id":"bob"}`); code != http.StatusAccepted {
		t.Fatalf("bob on a: %d", code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines := openStream(t, ctx, b.URL, "bob")
	waitLine(t, lines, "event: state", 10*time.Second)
	if code, _ := post(t, a.URL+"/reservations/"+hold["reservation_id"].(string)+"/cancel", ""); code != http.StatusOK {
		t.Fatalf("cancel on a: %d", code)
	}
	waitLine(t, lines, "event: promoted", 10*time.Second)
}
