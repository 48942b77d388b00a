package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets this test binary also be the server under test, as a child
// process with its own file-descriptor limit (see serveAsChild).
func TestMain(m *testing.M) {
	if os.Getenv("FLASHSALE_TEST_CHILD") == "serve" {
		serveAsChild()
		return
	}
	os.Exit(m.Run())
}

// serveAsChild is main for the child: configuration comes from FLASHSALE_*
// variables, the logs go to stdout, SIGTERM stops it.
func serveAsChild() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, nil, os.Getenv, os.Stdout); err != nil {
		os.Stderr.WriteString("child: " + err.Error() + "\n")
		os.Exit(1)
	}
}

// More clients than the server has file descriptors: it cannot accept them
// all, net/http backs off on EMFILE instead of exiting, the read-header
// timeout closes the connections that never send a request, and a real
// client behind them is answered. The server runs as a child process under
// `ulimit -n 64`, so the limit is its own and the test process keeps its.
func TestAbuseBeyondFileDescriptorLimit(t *testing.T) {
	const limit, idle = 64, 400 // idle connections: six times the limit
	cmd := exec.Command("sh", "-c", `ulimit -n `+strconv.Itoa(limit)+` && exec "$0"`, os.Args[0])
	cmd.Env = append(os.Environ(),
		"FLASHSALE_TEST_CHILD=serve",
		"FLASHSALE_ADDR=127.0.0.1:0",
		"FLASHSALE_ADMIN_TOKEN=t",
		"FLASHSALE_INVENTORY=10",
		"FLASHSALE_READ_HEADER_TIMEOUT=500ms",
		"FLASHSALE_IDLE_TIMEOUT=500ms",
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})

	var (
		mu     sync.Mutex
		emfile bool
		addrs  = make(chan string, 1)
	)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			if line["msg"] == "listening" {
				addrs <- line["addr"].(string)
			}
			if strings.Contains(sc.Text(), "too many open files") {
				mu.Lock()
				emfile = true
				mu.Unlock()
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrs:
	case err := <-exited:
		t.Fatalf("server exited before listening: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("server did not log its address")
	}

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
	resp, err := client.Post("http://"+addr+"/reserve", "application/json", strings.NewReader(`{"user_id":"patient"}`))
	if err != nil {
		t.Fatalf("a client behind %d idle connections was not answered: %v", idle, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("reserve: %d, want 201", resp.StatusCode)
	}
	select {
	case err := <-exited:
		t.Fatalf("the server exited: %v", err)
	default:
	}
	mu.Lock()
	defer mu.Unlock()
	if !emfile {
		t.Errorf("the server never ran out of descriptors (no EMFILE in its log): the test did not test what it says")
	}
}
