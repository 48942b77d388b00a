package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// Child is a server process started for a measurement. Every bench runs the
// server it measures as a child, so that the two share no heap, garbage
// collector or scheduler. It is exported for the tests of other packages
// that start the real server the same way.
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
	// startAttempts bounds the tries on a fresh port when the one picked
	// was taken before the child could bind it.
	startAttempts = 3
)

// StartChildOnFreePort runs bin args --addr A, A a free loopback port
// picked here, and waits until it answers GET /healthz with 200 there. It never
// reads what the child logs: whatever the child writes, on stdout or
// stderr, is kept (the last few KiB) and quoted in errors. name is what
// errors call the child.
//
// The port is free when picked and the child binds it a moment later; if
// something else took it meanwhile and the child says so ("address already
// in use"), it is started again on another port, a few times at most.
func StartChildOnFreePort(ctx context.Context, name, bin string, args []string) (*Child, error) {
	var err error
	for range startAttempts {
		var addr string
		if addr, err = freeLoopbackAddr(); err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		var c *Child
		c, err = startChildAt(ctx, name, bin, addr, args)
		if !errors.Is(err, errPortTaken) {
			return c, err
		}
	}
	return nil, err
}

// errPortTaken marks a child that exited because its port was taken.
var errPortTaken = errors.New("its port was taken")

// startChildAt runs bin args --addr addr and waits for it to be healthy.
func startChildAt(ctx context.Context, name, bin, addr string, args []string) (*Child, error) {
	c := &Child{
		name:   name,
		cmd:    exec.Command(bin, slices.Concat(args, []string{"--addr", addr})...),
		addr:   addr,
		out:    &tail{max: 4 << 10, label: name + " said"},
		exited: make(chan struct{}),
	}
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.exited) }()
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := c.waitHealthy(ctx); err != nil {
		c.kill() // a failed start leaves no process behind
		if strings.Contains(c.out.String(), "address already in use") {
			err = fmt.Errorf("%w (%w)", err, errPortTaken)
		}
		return nil, err
	}
	return c, nil
}

// freeLoopbackAddr asks the kernel for a free port and lets it go again; the
// child binds it a moment later.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
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
		case <-c.exited:
			return fmt.Errorf("%s exited before answering GET /healthz at %s: %v%s", c.name, c.URL(), c.err, c.out.suffix())
		case <-ctx.Done():
			return fmt.Errorf("%s at %s not healthy within %s: %w%s", c.name, c.URL(), startTimeout, err, c.out.suffix())
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
