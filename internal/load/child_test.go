package load

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fakeChild writes a shell script that records each start's arguments, a
// line per start, and then runs body.
func fakeChild(t *testing.T, body string) (bin, argsLog string) {
	t.Helper()
	dir := t.TempDir()
	argsLog = filepath.Join(dir, "args")
	bin = filepath.Join(dir, "server")
	script := "#!/bin/sh\necho \"$@\" >> '" + argsLog + "'\n" + body + "\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, argsLog
}

func starts(t *testing.T, argsLog string) []string {
	t.Helper()
	b, err := os.ReadFile(argsLog)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// A child that fails to start is quoted in the error, whatever it wrote and
// wherever; it got its flags and then --addr on a loopback port.
func TestStartChildQuotesAFailure(t *testing.T) {
	bin, argsLog := fakeChild(t, "echo 'starting up'\necho 'boom: no such store' >&2\nexit 3")
	_, err := StartChildOnFreePort(t.Context(), "flashsale", bin, []string{"--store", "x"})
	if err == nil || !strings.Contains(err.Error(), "flashsale exited") || !strings.Contains(err.Error(), "flashsale said: boom: no such store") {
		t.Fatalf("err = %v, want it to say the child exited and quote its last line", err)
	}
	got := starts(t, argsLog)
	if len(got) != 1 || !regexp.MustCompile(`^--store x --addr 127\.0\.0\.1:\d+$`).MatchString(got[0]) {
		t.Errorf("started %q, want once with --store x --addr 127.0.0.1:PORT", got)
	}
}

// A child whose port was taken meanwhile is started again on another port,
// a bounded number of times.
func TestStartChildRetriesATakenPort(t *testing.T) {
	bin, argsLog := fakeChild(t, "echo \"listen tcp $2: bind: address already in use\" >&2\nexit 1")
	_, err := StartChildOnFreePort(t.Context(), "flashsale", bin, nil)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("err = %v, want the last attempt's error", err)
	}
	if got := starts(t, argsLog); len(got) != startAttempts {
		t.Errorf("started %d times (%q), want %d", len(got), got, startAttempts)
	}
}

func TestStartChildMissingBinary(t *testing.T) {
	_, err := StartChildOnFreePort(t.Context(), "flashsale", filepath.Join(t.TempDir(), "missing"), nil)
	if err == nil || !strings.Contains(err.Error(), "start flashsale") {
		t.Fatalf("err = %v, want it to say the child did not start", err)
	}
}
