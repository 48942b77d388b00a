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
	"sync"
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
	timeoutAfterwards time.Duration // how long past its duration a run may take before it is killed
}

// newWrk finds bin (a path, or a name looked up on PATH) and writes the
// script into dir, where wrk can read it.
func newWrk(bin, dir string) (*wrk, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("wrk: %w (install it with apt-get install -y wrk)", err)
	}
	script := filepath.Join(dir, "wrk_reserve.lua")
	if err := os.WriteFile(script, wrkScript, 0o644); err != nil {
		return nil, fmt.Errorf("wrk: write its script: %w", err)
	}
	return &wrk{bin: path, script: script, timeoutAfterwards: 30 * time.Second}, nil
}

// wrkShare is one wrk process's part of a load: its threads, connections
// and the tag that starts its users' ids.
type wrkShare struct {
	threads, conns int
	tag            string
}

// splitWrk shares threads and conns among n wrk processes, one per server,
// as evenly as they divide (the first ones get one more): n must not be
// above threads, nor threads above conns, so each gets a thread and a
// connection per thread. With one process the tag is used as it is; with
// several each gets tag, its number and a dot ("m1.", "m2."), so that no
// two processes make the same user id ("m1.1-7" and "m2.1-7").
func splitWrk(threads, conns, n int, tag string) []wrkShare {
	if n == 1 {
		return []wrkShare{{threads, conns, tag}}
	}
	shares := make([]wrkShare, n)
	for i := range shares {
		shares[i] = wrkShare{
			threads: threads/n + btoi(i < threads%n),
			conns:   conns/n + btoi(i < conns%n),
			tag:     tag + strconv.Itoa(i+1) + ".",
		}
	}
	return shares
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// args is wrk's command line for a run of d against url.
func (w *wrk) args(s wrkShare, d time.Duration, url string) []string {
	return []string{
		"-t" + strconv.Itoa(s.threads), "-c" + strconv.Itoa(s.conns), "-d" + wrkSeconds(d),
		"--latency", "-s", w.script, url, "--", s.tag,
	}
}

// wrkSeconds is d as wrk reads it: whole seconds.
func wrkSeconds(d time.Duration) string { return strconv.Itoa(int(d/time.Second)) + "s" }

// run runs one wrk for d against url and parses what it printed; cpu is the
// CPU time wrk itself used.
func (w *wrk) run(ctx context.Context, s wrkShare, d time.Duration, url string) (f WrkFigures, cpu time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, d+w.timeoutAfterwards)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.bin, w.args(s, d, url)...)
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
	if f.Threads != s.threads || f.Connections != s.conns {
		return f, cpu, fmt.Errorf("wrk ran %d threads and %d connections, asked for %d and %d", f.Threads, f.Connections, s.threads, s.conns)
	}
	return f, cpu, nil
}

// runAll runs one wrk per URL at once, for d, with threads and conns
// shared among them (splitWrk), and adds up what they measured
// (mergeWrk); cpu is all of them together.
func (w *wrk) runAll(ctx context.Context, threads, conns int, d time.Duration, urls []string, tag string) (WrkFigures, time.Duration, error) {
	shares := splitWrk(threads, conns, len(urls), tag)
	figs := make([]WrkFigures, len(urls))
	cpus := make([]time.Duration, len(urls))
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() { figs[i], cpus[i], errs[i] = w.run(ctx, shares[i], d, u) })
	}
	wg.Wait()
	if len(urls) > 1 {
		for i, err := range errs {
			if err != nil {
				errs[i] = fmt.Errorf("server %d: %w", i+1, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return WrkFigures{}, 0, err
	}
	var cpu time.Duration
	for _, c := range cpus {
		cpu += c
	}
	return mergeWrk(figs), cpu, nil
}

// mergeWrk is the figures of wrk processes that ran at once against
// servers sharing one sale, as one load: threads, connections, requests,
// bytes, errors and statuses added up, over the longest duration. Latency
// percentiles cannot be added up; each is the highest of the processes'
// (the whole load's q-th percentile is at most the highest of theirs, and
// at least the lowest), and the maximum is the maximum.
func mergeWrk(fs []WrkFigures) WrkFigures {
	if len(fs) == 1 {
		return fs[0]
	}
	var m WrkFigures
	for _, f := range fs {
		m.Threads += f.Threads
		m.Connections += f.Connections
		m.Requests += f.Requests
		m.Bytes += f.Bytes
		m.Duration = max(m.Duration, f.Duration)
		m.Errors.Connect += f.Errors.Connect
		m.Errors.Read += f.Errors.Read
		m.Errors.Write += f.Errors.Write
		m.Errors.Status += f.Errors.Status
		m.Errors.Timeout += f.Errors.Timeout
		m.P50, m.P99 = max(m.P50, f.P50), max(m.P99, f.P99)
		m.P999, m.Max = max(m.P999, f.P999), max(m.Max, f.Max)
		m.Created += f.Created
		m.Waitlisted += f.Waitlisted
		m.Other += f.Other
	}
	return m
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
