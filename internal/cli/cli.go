// Package cli is what every command's main shares: how it runs, and what it
// says and exits with when it fails. A mistake in how a command was called
// (its flags, its arguments, its environment) exits 2, with a pointer to
// --help; a command called well that fails exits 1; -h exits 0. So a script
// or a service manager can tell "fix the command" from "it failed", and
// knows that retrying the first is futile.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// UsageError is a mistake in how a command was called.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() + " (see --help)" }
func (e UsageError) Unwrap() error { return e.Err }

// Usage marks err as a mistake in how the command was called.
func Usage(err error) error { return UsageError{err} }

// Usagef is Usage of a new error.
func Usagef(format string, a ...any) error { return UsageError{fmt.Errorf(format, a...)} }

// Outcome is the line a command named name prints on stderr for its error
// ("" for none) and the status it exits with. The line is one line,
// whatever the error: lines within it are joined with "; ".
func Outcome(name string, err error) (line string, code int) {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return "", 0
	}
	line = name + ": " + strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
	if errors.As(err, new(UsageError)) {
		return line, 2
	}
	return line, 1
}

// Main runs a command: run gets a context that SIGINT and SIGTERM cancel,
// and its error is printed as one line and exited with, as Outcome says.
func Main(name string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	line, code := Outcome(name, err)
	if line != "" {
		fmt.Fprintln(os.Stderr, line)
	}
	os.Exit(code)
}
