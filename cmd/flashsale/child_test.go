package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildFlashsale compiles this command into a temporary folder and returns
// the binary's path. It is built without the race detector whatever the
// test runs with: the server then runs at its real speed, as it would in a
// shop, and the test process (which is race-checked) is the client.
func buildFlashsale(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go tool to build the server with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "flashsale")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The test runs in this package's folder, so "." is cmd/flashsale.
	out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// child is the flashsale binary running as a process of its own, so that
// it can be killed with SIGKILL like a real server, mid-write.
type child struct {
	url       string
	cmd       *exec.Cmd
	exited    chan struct{} // closed once the process has exited and err is set
	err       error
	stderr    strings.Builder // read only after exited is closed
	listening chan string     // the address of its "listening" line

	mu   sync.Mutex
	logs []map[string]any // its log lines, in order
}

// startChild runs bin with args, which must include --addr 127.0.0.1:0,
// and returns once it logs the address it listens on. The cleanup stops it
// with SIGTERM if it is still running.
func startChild(t *testing.T, bin string, args ...string) *child {
	t.Helper()
	c := spawnChild(t, bin, args...)
	c.waitListening(t, 15*time.Second)
	return c
}

// spawnChild runs bin with args and returns at once, reading its log as it
// comes. The cleanup stops it with SIGTERM if it is still running.
func spawnChild(t *testing.T, bin string, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(bin, args...), exited: make(chan struct{}), listening: make(chan string, 1)}
	// Through an io.Pipe rather than StdoutPipe: Wait then waits for the
	// last log line to be copied instead of closing the pipe under the
	// reader.
	pr, pw := io.Pipe()
	c.cmd.Stdout = pw
	c.cmd.Stderr = &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		pw.Close()
		close(c.exited)
	}()
	go func() {
		// Read to the end, so that the server never blocks on its log.
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				line = map[string]any{"msg": "(not JSON)", "text": sc.Text()}
			}
			c.mu.Lock()
			c.logs = append(c.logs, line)
			c.mu.Unlock()
			if addr, ok := line["addr"].(string); ok && line["msg"] == "listening" {
				select {
				case c.listening <- addr:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr) // a line too long for the scanner
	}()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// waitListening waits up to limit for the server's "listening" line and
// sets c.url.
func (c *child) waitListening(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case addr := <-c.listening:
		c.url = "http://" + addr
	case <-c.exited:
		t.Fatalf("the server exited before listening: %v\n%s", c.err, c.stderr.String())
	case <-time.After(limit):
		t.Fatalf("the server did not log its address within %v; its log:\n%s", limit, c.logText())
	}
}

// logged returns the server's log lines with message msg so far.
func (c *child) logged(msg string) []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, l := range c.logs {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// logText is the server's log so far, one JSON line each, for messages.
func (c *child) logText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, l := range c.logs {
		j, _ := json.Marshal(l)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// kill ends the process with SIGKILL, as a crash or the OOM killer would:
// no deferred function, no shutdown, no flush. It returns once the process
// is gone, so that its file lock is released.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		select {
		case <-c.exited: // it had already exited: a crash of its own
			t.Fatalf("the server exited before it was killed: %v\n%s", c.err, c.stderr.String())
		default:
			t.Fatalf("kill the server: %v", err)
		}
	}
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the server was still running 10s after SIGKILL")
	}
}

// stop shuts a running server down gracefully and reports a failed
// shutdown; a server already killed is left as it is.
func (c *child) stop(t *testing.T) {
	t.Helper()
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		if c.err != nil {
			t.Errorf("the server did not shut down cleanly: %v\n%s", c.err, c.stderr.String())
		}
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
		t.Error("the server did not stop within 15s of SIGTERM")
	}
}
