package testkit

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Limits of starting and stopping a server.
const (
	// ListenTimeout is how long a server has to log where it listens.
	ListenTimeout = 15 * time.Second
	// StopTimeout is how long a server has to stop once asked.
	StopTimeout = 15 * time.Second
)

// RunFunc is a command's main without the process, as every command here
// has one: arguments and environment in, its JSON log on stdout, an error
// for anything main would exit non-zero for.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error

// Process is a server started from its command line: the real binary as a
// process of its own (StartProcess), or a command's run function in this
// process (StartRun). Its log is read as it comes, one JSON object a line,
// and its URL is the address its "listening" line names.
type Process struct {
	URL string

	listening chan string   // the address of its "listening" line
	exited    chan struct{} // closed once it has ended and err is set
	err       error
	read      chan struct{} // closed once its whole log is in logs

	cmd    *exec.Cmd          // a process's; nil for a run
	cancel context.CancelFunc // a run's; nil for a process
	stderr strings.Builder    // a process's, read only after exited is closed

	mu   sync.Mutex
	logs []map[string]any
}

// StartProcess runs the server binary bin with args, on a free loopback
// port unless args name an --addr, and returns once it logs the address it
// listens on. It is stopped with SIGTERM when t ends, if still running.
func StartProcess(t testing.TB, bin string, args ...string) *Process {
	t.Helper()
	p := SpawnProcess(t, bin, args...)
	p.WaitListening(t)
	return p
}

// SpawnProcess is StartProcess without waiting for the server to listen:
// for a server expected to fail first, or to wait for something else.
func SpawnProcess(t testing.TB, bin string, args ...string) *Process {
	t.Helper()
	return SpawnCommand(t, exec.Command(bin, append([]string{"--addr", "127.0.0.1:0"}, args...)...))
}

// SpawnCommand is SpawnProcess for a command line of the caller's: a shell
// that sets the server's limits first, say. The command must pass the
// server its address, and leave its stdout and stderr unset.
func SpawnCommand(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p := newProcess()
	p.cmd = cmd
	// Through an io.Pipe rather than StdoutPipe: Wait then waits for the
	// last log line to be copied instead of closing the pipe under the
	// reader.
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, &p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("testkit: start %s: %v", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		close(p.exited)
	}()
	go p.readLog(t, pr)
	t.Cleanup(func() { p.Stop(t) })
	return p
}

// StartRun calls run in this process as main would, with args (and a free
// loopback port unless they name an --addr) and env as its environment, and
// returns once it logs the address it listens on. When t ends it is
// stopped, as SIGTERM stops main, if still running.
func StartRun(t testing.TB, run RunFunc, args []string, env map[string]string) *Process {
	t.Helper()
	p := newProcess()
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	pr, pw := io.Pipe()
	go func() {
		p.err = run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, pw)
		pw.Close()
		close(p.exited)
	}()
	go p.readLog(t, pr)
	t.Cleanup(func() { p.Stop(t) })
	p.WaitListening(t)
	return p
}

func newProcess() *Process {
	return &Process{listening: make(chan string, 1), exited: make(chan struct{}), read: make(chan struct{})}
}

// readLog keeps every line of the server's log, and sends the address of
// its "listening" line. It reads to the end, so that the server never
// blocks on its log. A line that is not JSON fails the test: the server's
// log is JSON, one object a line, for machines to read.
func (p *Process) readLog(t testing.TB, r io.Reader) {
	defer close(p.read)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("testkit: a log line is not JSON: %q", sc.Text())
			continue
		}
		p.mu.Lock()
		p.logs = append(p.logs, line)
		p.mu.Unlock()
		if addr, ok := line["addr"].(string); ok && line["msg"] == "listening" {
			select {
			case p.listening <- addr:
			default:
			}
		}
	}
	_, _ = io.Copy(io.Discard, r) // after a line too long to scan
}

// WaitListening waits up to ListenTimeout for the server's "listening" line
// and sets URL.
func (p *Process) WaitListening(t testing.TB) {
	t.Helper()
	select {
	case addr := <-p.listening:
		p.URL = "http://" + addr
	case <-p.exited:
		t.Fatalf("testkit: the server ended before listening: %v\n%s%s", p.err, p.Stderr(), p.LogText())
	case <-time.After(ListenTimeout):
		t.Fatalf("testkit: the server did not log its address within %v; its log:\n%s", ListenTimeout, p.LogText())
	}
}

// Logged returns the server's log lines whose message is msg, so far.
func (p *Process) Logged(msg string) []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, l := range p.logs {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// LogText is the server's log so far, one JSON object a line, for messages.
func (p *Process) LogText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, l := range p.logs {
		j, _ := json.Marshal(l)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// Exited is closed once the server has ended; Err then says how.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err is how the server ended: nil for a clean stop, the process's exit
// error or run's error otherwise. It is nil while the server runs.
func (p *Process) Err() error {
	select {
	case <-p.exited:
		return p.err
	default:
		return nil
	}
}

// Stderr is what a process wrote on stderr, once it has ended ("" before).
func (p *Process) Stderr() string {
	select {
	case <-p.exited:
		return p.stderr.String()
	default:
		return ""
	}
}

// Wait waits up to limit for the server to end by itself, and returns how
// it ended; it fails t if it has not.
func (p *Process) Wait(t testing.TB, limit time.Duration) error {
	t.Helper()
	select {
	case <-p.exited:
		<-p.read
		return p.err
	case <-time.After(limit):
		t.Fatalf("testkit: the server was still running after %v", limit)
		return nil
	}
}

// Kill ends a process with SIGKILL, as a crash or the OOM killer would: no
// deferred function, no shutdown, no flush. It returns once the process is
// gone, so that its file locks are released.
func (p *Process) Kill(t testing.TB) {
	t.Helper()
	if p.cmd == nil {
		t.Fatal("testkit: Kill needs a process of its own; this server runs in the test's")
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		select {
		case <-p.exited: // it had already exited: a crash of its own
			t.Fatalf("testkit: the server exited before it was killed: %v\n%s", p.err, p.Stderr())
		default:
			t.Fatalf("testkit: kill the server: %v", err)
		}
	}
	select {
	case <-p.exited:
		<-p.read // its last lines, for Logged
	case <-time.After(StopTimeout):
		t.Fatalf("testkit: the server was still running %v after SIGKILL", StopTimeout)
	}
}

// Signal sends sig to a process of its own (SIGHUP, to make it read its
// files again).
func (p *Process) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if p.cmd == nil {
		t.Fatal("testkit: Signal needs a process of its own; this server runs in the test's")
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("testkit: signal the server: %v", err)
	}
}

// Stop shuts a running server down gracefully (SIGTERM, or for a run the
// cancelled context main's signal handler would give it) and fails t if it
// does not stop cleanly in StopTimeout. A server that has already ended is
// left as it is.
func (p *Process) Stop(t testing.TB) {
	t.Helper()
	select {
	case <-p.exited:
		return
	default:
	}
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	} else {
		p.cancel()
	}
	select {
	case <-p.exited:
		<-p.read // the last lines (the "stopped" one) may still be being read
		if p.err != nil {
			t.Errorf("testkit: the server did not stop cleanly: %v\n%s", p.err, p.Stderr())
		}
	case <-time.After(StopTimeout):
		if p.cmd != nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		t.Errorf("testkit: the server did not stop within %v", StopTimeout)
	}
}
