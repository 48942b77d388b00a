package load

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// child is a server process started for a comparison. Both the baseline and
// the real server run as children, so that neither shares a heap, a garbage
// collector or a scheduler with the generator.
type child struct {
	name   string
	cmd    *exec.Cmd
	url    string
	stderr *tail
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's answer, read after exited is closed
}

const (
	startTimeout = 15 * time.Second
	stopTimeout  = 15 * time.Second
)

// startChild runs bin with args and waits until it has logged
// {"msg":"listening","addr":...} on stdout and answers /healthz there.
func startChild(ctx context.Context, name, bin string, args []string) (*child, error) {
	c := &child{name: name, cmd: exec.Command(bin, args...), stderr: &tail{max: 4 << 10}, exited: make(chan struct{})}
	c.cmd.Stderr = c.stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	addrs := make(chan string, 1)
	// The reader drains stdout for the child's whole life: a server that
	// logs and finds its pipe full would stall.
	go scanForAddr(stdout, addrs)
	go func() { c.err = c.cmd.Wait(); close(c.exited) }()

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	select {
	case addr := <-addrs:
		c.url = "http://" + addr
	case <-c.exited:
		return nil, fmt.Errorf("%s exited before listening: %v%s", name, c.err, c.stderr.suffix())
	case <-ctx.Done():
		c.kill()
		return nil, fmt.Errorf("%s did not log its address within %s%s", name, startTimeout, c.stderr.suffix())
	}
	if err := c.waitHealthy(ctx); err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

// scanForAddr reads JSON log lines until one says where the server listens,
// sends that address, and then discards the rest.
func scanForAddr(r io.Reader, addrs chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" && line.Addr != "" {
			addrs <- line.Addr
			break
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

func (c *child) waitHealthy(ctx context.Context) error {
	cl, err := newClient(c.url, "", 1)
	if err != nil {
		return err
	}
	defer cl.close()
	for {
		err := cl.health(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s at %s not healthy: %w", c.name, c.url, err)
		case <-c.exited:
			return fmt.Errorf("%s exited: %v%s", c.name, c.err, c.stderr.suffix())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// cpu is the CPU time the child has used so far.
func (c *child) cpu() (time.Duration, bool) { return processCPU(c.cmd.Process.Pid) }

// stop asks the server to shut down gracefully and waits; a server that does
// not exit cleanly is an error worth reporting.
func (c *child) stop() error {
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		c.kill()
		return fmt.Errorf("stop %s: %w", c.name, err)
	}
	select {
	case <-c.exited:
	case <-time.After(stopTimeout):
		c.kill()
		return fmt.Errorf("%s did not stop within %s; killed", c.name, stopTimeout)
	}
	if c.err != nil {
		return fmt.Errorf("%s exited: %w%s", c.name, c.err, c.stderr.suffix())
	}
	return nil
}

func (c *child) kill() {
	_ = c.cmd.Process.Kill() // already gone is fine
	<-c.exited
}

// tail keeps the last max bytes written to it: a child's stderr, quoted when
// it fails.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = t.b[over:]
	}
	return len(p), nil
}

// suffix is the last stderr line, ready to append to an error message.
func (t *tail) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return ""
	}
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "; stderr: " + s
}
