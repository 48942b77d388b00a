package load

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Child is a server process started for a measurement. Every bench runs the
// server it measures as a child, so that the two share no heap, garbage
// collector or scheduler; it is exported because the streams bench in
// cmd/flashsale-load starts, watches and stops its server the same way as
// compare and wrk do here.
type Child struct {
	name   string
	cmd    *exec.Cmd
	addr   string // host:port
	out    *tail
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's answer, read after exited is closed
}

const (
	startTimeout = 15 * time.Second
	stopTimeout  = 15 * time.Second
)

func newChild(name string, cmd *exec.Cmd, outLabel string) *Child {
	return &Child{name: name, cmd: cmd, out: &tail{max: 4 << 10, label: outLabel}, exited: make(chan struct{})}
}

func (c *Child) start() error {
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.name, err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.exited) }()
	return nil
}

// ready waits for /healthz and kills the child if it never answers, so that
// a failed start leaves no process behind.
func (c *Child) ready(ctx context.Context) (*Child, error) {
	if err := c.waitHealthy(ctx); err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

func (c *Child) waitHealthy(ctx context.Context) error {
	cl, err := newClient(c.URL(), "", 1)
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
			return fmt.Errorf("%s at %s not healthy: %w", c.name, c.URL(), err)
		case <-c.exited:
			return fmt.Errorf("%s exited: %v%s", c.name, c.err, c.out.suffix())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// URL is where the child serves, http://host:port.
func (c *Child) URL() string { return "http://" + c.addr }

// Addr is the child's host:port, for a caller that dials it itself.
func (c *Child) Addr() string { return c.addr }

// Pid is the child's process id, for figures read from /proc.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// CommandLine is how the child was started, to print with its figures.
func (c *Child) CommandLine() string { return strings.Join(c.cmd.Args, " ") }

// CPU is the CPU time the child has used so far.
func (c *Child) CPU() (time.Duration, bool) { return ProcessCPU(c.Pid()) }

// Explain adds to err that the child has died, when it has: a connection
// that closes is otherwise a puzzle.
func (c *Child) Explain(err error) error {
	select {
	case <-c.exited:
		return fmt.Errorf("%w (%s exited: %v%s)", err, c.name, c.err, c.out.suffix())
	default:
		return err
	}
}

// Stop asks the server to shut down gracefully and waits; a server that does
// not exit cleanly is an error worth reporting.
func (c *Child) Stop() error {
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
		return fmt.Errorf("%s exited: %w%s", c.name, c.err, c.out.suffix())
	}
	return nil
}

func (c *Child) kill() {
	_ = c.cmd.Process.Kill() // already gone is fine
	<-c.exited
}
