package load

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/exec"
)

// A child is ready when it answers /healthz at its address; the two ways
// to start one differ in how that address is learned.

// StartChild runs bin with args and waits until it has logged
// {"msg":"listening","addr":...} on stdout and answers /healthz there. name
// is what errors call it; its stderr is quoted in them.
func StartChild(ctx context.Context, name, bin string, args []string) (*Child, error) {
	c := newChild(name, exec.Command(bin, args...), "stderr")
	c.cmd.Stderr = c.out
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := c.start(); err != nil {
		return nil, err
	}
	addrs := make(chan string, 1)
	// The reader drains stdout for the child's whole life: a server that
	// logs and finds its pipe full would stall.
	go scanForAddr(stdout, addrs)

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	select {
	case c.addr = <-addrs:
	case <-c.exited:
		return nil, fmt.Errorf("%s exited before listening: %v%s", name, c.err, c.out.suffix())
	case <-ctx.Done():
		c.kill()
		return nil, fmt.Errorf("%s did not log its address within %s%s", name, startTimeout, c.out.suffix())
	}
	return c.ready(ctx)
}

// StartChildOnFreePort runs bin --addr A args, A a free loopback port picked
// here, and waits until it answers /healthz. It is for a server too quiet
// to log its address (one at --log-level warn); what it does log, on stdout
// or stderr, is quoted in errors.
func StartChildOnFreePort(ctx context.Context, name, bin string, args []string) (*Child, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := newChild(name, exec.Command(bin, append([]string{"--addr", addr}, args...)...), name+" said")
	c.addr = addr
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	if err := c.start(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	return c.ready(ctx)
}

// freeLoopbackAddr asks the kernel for a free port and lets it go again; the
// child binds it a moment later, and a clash would show as a failed start.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
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
