package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/testkit"
)

// Abuse cases that need the real server's connection timeouts, set short
// here so that the tests take a second, not a minute. The abuse table in the
// README lists them with the in-process cases of
// internal/httpapi/abuse_test.go.

var shortTimeouts = []string{"--read-header-timeout", "300ms", "--read-timeout", "1s", "--write-timeout", "2s", "--idle-timeout", "1s"}

// trickle writes parts to conn one at a time, pause apart, until the server
// closes the connection or answers. It returns how many parts went out
// before that, and what the server sent (empty if it just closed).
func trickle(t *testing.T, addr string, head string, parts []string, pause time.Duration) (sent int, answer string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ended := make(chan string, 1)
	go func() {
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		var b strings.Builder
		bufio.NewReader(conn).WriteTo(&b) // until the server closes
		ended <- b.String()
	}()
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		select {
		case answer := <-ended:
			return sent, answer
		case <-time.After(pause):
		}
		if _, err := conn.Write([]byte(p)); err != nil {
			return sent, <-ended // the server closed the connection
		}
		sent++
	}
	select {
	case answer := <-ended:
		return sent, answer
	case <-time.After(5 * time.Second):
		return sent, "" // still open after everything was sent
	}
}

func stillServes(t *testing.T, s *testkit.Process) {
	t.Helper()
	if code, body := get(t, s.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("after the attack, /healthz: %d %v", code, body)
	}
}

// TestAbuseSlowlorisHeaders: a client that sends its headers a line at a
// time, never finishing, is cut off at --read-header-timeout.
func TestAbuseSlowlorisHeaders(t *testing.T) {
	t.Parallel()
	s := testkit.StartRun(t, run, append([]string{"--admin-token", "secret"}, shortTimeouts...), nil)
	addr := strings.TrimPrefix(s.URL, "http://")
	parts := make([]string, 100) // 100 × 100ms = 10s of headers, far beyond the 300ms allowed
	for i := range parts {
		parts[i] = fmt.Sprintf("X-Slow-%d: 1\r\n", i)
	}
	sent, answer := trickle(t, addr, "GET /status HTTP/1.1\r\nHost: x\r\n", parts, 100*time.Millisecond)
	if sent == len(parts) {
		t.Fatalf("the server waited for all %d header lines (answer %q)", sent, answer)
	}
	if strings.HasPrefix(answer, "HTTP/1.1 200") {
		t.Fatalf("an unfinished request was answered: %q", answer)
	}
	stillServes(t, s)
}

// TestAbuseSlowBody: a client that sends headers at once and then the body a
// byte at a time is cut off at --read-timeout, and reserves nothing.
func TestAbuseSlowBody(t *testing.T) {
	t.Parallel()
	s := testkit.StartRun(t, run, append([]string{"--admin-token", "secret", "--inventory", "5"}, shortTimeouts...), nil)
	addr := strings.TrimPrefix(s.URL, "http://")
	body := `{"user_id":"slowpoke"}` + strings.Repeat(" ", 78)
	parts := strings.Split(body, "") // 100 bytes × 100ms = 10s, beyond the 1s allowed
	head := fmt.Sprintf("POST /reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	sent, answer := trickle(t, addr, head, parts, 100*time.Millisecond)
	if sent == len(parts) {
		t.Fatalf("the server waited for all %d body bytes (answer %q)", sent, answer)
	}
	if answer != "" {
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(answer)), nil)
		if err != nil {
			t.Fatalf("unreadable answer %q: %v", answer, err)
		}
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("slow body answered %d, want 400 or 408 (or a closed connection): %q", resp.StatusCode, answer)
		}
	}
	// slowpoke has no token (no reserve was ever answered): the admin reads.
	if code, st := get(t, s.URL+"/users/slowpoke", "Authorization", "Bearer secret"); code != http.StatusOK || st["state"] != "none" {
		t.Fatalf("the slow body reserved: %d %v", code, st)
	}
	stillServes(t, s)
}

// TestAbuseIdleConnections: keep-alive connections left idle are closed at
// --idle-timeout, so they cannot pile up.
func TestAbuseIdleConnections(t *testing.T) {
	t.Parallel()
	s := testkit.StartRun(t, run, append([]string{"--admin-token", "secret"}, shortTimeouts...), nil)
	addr := strings.TrimPrefix(s.URL, "http://")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first request: %v %v", resp, err)
	}
	resp.Body.Close()
	// Now idle: the server must hang up well before this 30s deadline.
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := r.ReadByte(); err == nil {
		t.Fatal("the server sent data on an idle connection")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("an idle connection was kept open for 30s")
	}
	stillServes(t, s)
}
