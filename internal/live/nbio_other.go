//go:build !unix

package live

import "syscall"

const pollable = false

// writeNow is unix-only; elsewhere Serve refuses every connection, and the
// caller serves the stream from its request's goroutine.
func writeNow(syscall.RawConn, []byte) (int, error) { return 0, ErrNotPollable }

func peerClosed(syscall.RawConn) bool { return true }
