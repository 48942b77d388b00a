package load

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkScript makes every request a POST /reserve by a new user and prints
// the figures as one line of JSON; see the file's own comment.
//
//go:embed wrk_reserve.lua
var wrkScript []byte

// wrkMarker starts the line the script's done() prints.
const wrkMarker = "flashsale-wrk "

// WrkFigures is what one wrk run reports: wrk's own summary and latency
// percentiles, and the statuses the script counted.
type WrkFigures struct {
	// Threads and Connections are what wrk says it ran with.
	Threads, Connections int
	Requests             int64 // completed during the run
	Duration             time.Duration
	Bytes                int64
	Errors               WrkErrors
	P50, P99, P999, Max  time.Duration
	// Created, Waitlisted and Other count the 201s, the 202s and every
	// other status.
	Created, Waitlisted, Other int64
}

// WrkErrors are wrk's error counts; Status counts answers above 399.
type WrkErrors struct {
	Connect, Read, Write, Status, Timeout int64
}

// Throughput is completed requests per second.
func (f WrkFigures) Throughput() float64 {
	if f.Duration <= 0 {
		return 0
	}
	return float64(f.Requests) / f.Duration.Seconds()
}

// Failure says what went wrong in the run, nil when every request was
// answered with a 201 or a 202 and no socket failed: with the rate limit out
// of reach and stock or a line for everyone, anything else is a fault.
func (f WrkFigures) Failure() error {
	var parts []string
	add := func(n int64, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(f.Errors.Connect, "connect errors")
	add(f.Errors.Read, "read errors")
	add(f.Errors.Write, "write errors")
	add(f.Errors.Timeout, "timeouts")
	add(f.Errors.Status, "answers above 399")
	add(f.Other, "answers neither 201 nor 202")
	if f.Requests == 0 {
		parts = append(parts, "no request completed")
	}
	if len(parts) == 0 {
		return nil
	}
	return errors.New(strings.Join(parts, ", "))
}

var wrkHeader = regexp.MustCompile(`(?m)^\s*(\d+) threads and (\d+) connections\s*$`)

// ParseWrk reads the output of wrk run with the embedded script: the
// "N threads and M connections" line of wrk's header and the script's
// "flashsale-wrk {json}" line. wrk's own text summary is left aside: the
// script's line has the same figures unrounded.
func ParseWrk(out []byte) (WrkFigures, error) {
	var f WrkFigures
	m := wrkHeader.FindSubmatch(out)
	if m == nil {
		return f, fmt.Errorf("wrk output has no \"N threads and M connections\" line: %s", quoteEnd(out))
	}
	f.Threads, _ = strconv.Atoi(string(m[1])) // digits, by the pattern
	f.Connections, _ = strconv.Atoi(string(m[2]))

	var line []byte
	for l := range bytes.Lines(out) {
		if rest, ok := bytes.CutPrefix(l, []byte(wrkMarker)); ok {
			line = rest
		}
	}
	if line == nil {
		return f, fmt.Errorf("wrk output has no %q line (was the script's done() run?): %s", strings.TrimSpace(wrkMarker), quoteEnd(out))
	}
	var j struct {
		Requests   *int64 `json:"requests"`
		DurationUS int64  `json:"duration_us"`
		Bytes      int64  `json:"bytes"`
		Errors     struct {
			Connect, Read, Write, Status, Timeout int64
		} `json:"errors"`
		Latency struct {
			P50  int64 `json:"p50"`
			P99  int64 `json:"p99"`
			P999 int64 `json:"p999"`
			Max  int64 `json:"max"`
		} `json:"latency_us"`
		Created    int64 `json:"status_201"`
		Waitlisted int64 `json:"status_202"`
		Other      int64 `json:"status_other"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields() // a script and a parser out of step should fail loudly
	if err := dec.Decode(&j); err != nil {
		return f, fmt.Errorf("wrk's %q line: %w", strings.TrimSpace(wrkMarker), err)
	}
	if j.Requests == nil {
		return f, fmt.Errorf("wrk's %q line has no request count: %s", strings.TrimSpace(wrkMarker), bytes.TrimSpace(line))
	}
	us := func(n int64) time.Duration { return time.Duration(n) * time.Microsecond }
	f.Requests, f.Duration, f.Bytes = *j.Requests, us(j.DurationUS), j.Bytes
	f.Errors = WrkErrors{j.Errors.Connect, j.Errors.Read, j.Errors.Write, j.Errors.Status, j.Errors.Timeout}
	f.P50, f.P99, f.P999, f.Max = us(j.Latency.P50), us(j.Latency.P99), us(j.Latency.P999), us(j.Latency.Max)
	f.Created, f.Waitlisted, f.Other = j.Created, j.Waitlisted, j.Other
	return f, nil
}

// quoteEnd is the end of a program's output, for an error message.
func quoteEnd(out []byte) string {
	s := strings.TrimSpace(string(out))
	if len(s) > 300 {
		s = "…" + s[len(s)-300:]
	}
	if s == "" {
		return "(no output)"
	}
	return strconv.Quote(s)
}

// wrk runs one wrk binary with the embedded script.
type wrk struct {
	bin, script       string
	threads, conns    int
	timeoutAfterwards time.Duration // how long past its duration a run may take before it is killed
}

// newWrk finds bin (a path, or a name looked up on PATH) and writes the
// script into dir, where wrk can read it.
func newWrk(bin, dir string, threads, conns int) (*wrk, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("wrk: %w (install it with apt-get install -y wrk, or measure with compare)", err)
	}
	script := filepath.Join(dir, "wrk_reserve.lua")
	if err := os.WriteFile(script, wrkScript, 0o644); err != nil {
		return nil, fmt.Errorf("wrk: write its script: %w", err)
	}
	return &wrk{bin: path, script: script, threads: threads, conns: conns, timeoutAfterwards: 30 * time.Second}, nil
}

// args is wrk's command line for a run of d against url; tag starts every
// user id of the run.
func (w *wrk) args(d time.Duration, url, tag string) []string {
	return []string{
		"-t" + strconv.Itoa(w.threads), "-c" + strconv.Itoa(w.conns), "-d" + wrkSeconds(d),
		"--latency", "-s", w.script, url, "--", tag,
	}
}

// wrkSeconds is d as wrk reads it: whole seconds.
func wrkSeconds(d time.Duration) string { return strconv.Itoa(int(d/time.Second)) + "s" }

// run runs wrk for d against url and parses what it printed; cpu is the
// CPU time wrk itself used.
func (w *wrk) run(ctx context.Context, d time.Duration, url, tag string) (f WrkFigures, cpu time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, d+w.timeoutAfterwards)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.bin, w.args(d, url, tag)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return f, 0, fmt.Errorf("wrk %s: %w; stderr %s; stdout %s", strings.Join(cmd.Args[1:], " "), err, quoteEnd(stderr.Bytes()), quoteEnd(out))
	}
	cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if f, err = ParseWrk(out); err != nil {
		return f, cpu, err
	}
	if f.Threads != w.threads || f.Connections != w.conns {
		return f, cpu, fmt.Errorf("wrk ran %d threads and %d connections, asked for %d and %d", f.Threads, f.Connections, w.threads, w.conns)
	}
	return f, cpu, nil
}

// version is wrk's first line of `wrk -v` ("wrk debian/4.1.0-3+b2 [epoll]
// Copyright …"), trimmed to the name and version; "" when it cannot be had.
func (w *wrk) version(ctx context.Context) string {
	// wrk -v prints its usage too and exits non-zero: only the output matters.
	out, _ := exec.CommandContext(ctx, w.bin, "-v").CombinedOutput()
	first, _, _ := strings.Cut(string(out), "\n")
	if i := strings.Index(first, " Copyright"); i >= 0 {
		first = first[:i]
	}
	return strings.TrimSpace(first)
}
