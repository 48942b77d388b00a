package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pipelined makes n requests over conns connections at once, connection k
// to urls[k%len(urls)], each writing up to pipelineDepth requests before it
// reads their answers (HTTP/1.1 pipelining, which the server answers in
// order). A crowd of tens of thousands is the server's work then, not the
// test's: this process runs under the race detector, and net/http's client
// would take most of the test's time. request writes the i-th request;
// answer gets its status and body, on any goroutine.
func pipelined(t *testing.T, urls []string, n, conns int, request func(w io.Writer, i int), answer func(i, code int, body []byte)) {
	t.Helper()
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		fail  sync.Once
		first error
	)
	for k := range conns {
		wg.Go(func() {
			if err := pipeline(strings.TrimPrefix(urls[k%len(urls)], "http://"), &next, n, request, answer); err != nil {
				fail.Do(func() { first = err })
			}
		})
	}
	wg.Wait()
	if first != nil {
		t.Fatalf("pipelined requests: %v", first)
	}
}

const pipelineDepth = 32

func pipeline(addr string, next *atomic.Int64, n int, request func(w io.Writer, i int), answer func(i, code int, body []byte)) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		return err
	}
	r, w := bufio.NewReaderSize(c, 64<<10), bufio.NewWriterSize(c, 64<<10)
	batch := make([]int, 0, pipelineDepth)
	for {
		batch = batch[:0]
		for len(batch) < pipelineDepth {
			i := int(next.Add(1)) - 1
			if i >= n {
				break
			}
			request(w, i)
			batch = append(batch, i)
		}
		if len(batch) == 0 {
			return nil
		}
		if err := w.Flush(); err != nil {
			return err
		}
		for _, i := range batch {
			code, body, err := readAnswer(r)
			if err != nil {
				return fmt.Errorf("request %d: %w", i, err)
			}
			answer(i, code, body)
		}
	}
}

// readAnswer reads one HTTP/1.1 answer with a Content-Length, which the
// server gives every answer short enough to buffer: all of these.
func readAnswer(r *bufio.Reader) (int, []byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, fmt.Errorf("status line %q", line)
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("status line %q", line)
	}
	length := -1
	for {
		h, err := r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(h) <= 2 {
			break
		}
		name, value, _ := bytes.Cut(h, []byte(":"))
		switch strings.ToLower(string(name)) {
		case "content-length":
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil {
				return 0, nil, fmt.Errorf("header %q", h)
			}
		case "transfer-encoding":
			return 0, nil, fmt.Errorf("an answer with %q: not read here", h)
		}
	}
	if length < 0 {
		return 0, nil, fmt.Errorf("a %d answer without Content-Length", code)
	}
	body := make([]byte, length)
	_, err = io.ReadFull(r, body)
	return code, body, err
}
