package main

import (
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/testkit"
)

// More clients than the server has file descriptors: it cannot accept them
// all, net/http backs off on EMFILE instead of exiting, the read-header
// timeout closes the connections that never send a request, and a real
// client behind them is answered. The server runs as a process of its own
// under `ulimit -n 64`, so the limit is its own and the test process keeps
// its.
func TestAbuseBeyondFileDescriptorLimit(t *testing.T) {
	const limit, idle = 64, 400 // idle connections: six times the limit
	srv := testkit.SpawnCommand(t, exec.Command("sh", "-c", `ulimit -n `+strconv.Itoa(limit)+` && exec "$0" "$@"`,
		serverbin.Path(t), "--addr", "127.0.0.1:0", "--admin-token", "t", "--inventory", "10",
		"--read-header-timeout", "500ms", "--idle-timeout", "500ms"))
	srv.WaitListening(t)
	addr := strings.TrimPrefix(srv.URL, "http://")

	// Connections that never send a byte: each one the server accepts
	// costs it a descriptor until the read-header timeout.
	var conns []net.Conn
	for range idle {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()

	// A real shopper behind the crowd is still answered.
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Post(srv.URL+"/reserve", "application/json", strings.NewReader(`{"user_id":"patient"}`))
	if err != nil {
		t.Fatalf("a client behind %d idle connections was not answered: %v", idle, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("reserve: %d, want 201", resp.StatusCode)
	}
	select {
	case <-srv.Exited():
		t.Fatalf("the server exited: %v\n%s", srv.Err(), srv.Stderr())
	default:
	}
	// Its log is read as it comes: the EMFILE line may still be on its way.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(srv.LogText(), "too many open files"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("the server never ran out of descriptors (no EMFILE in its log): the test did not test what it says")
			break
		}
	}
}
