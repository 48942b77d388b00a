//go:build unix

package live

import (
	"errors"
	"syscall"
)

// pollable: connections here can be written without blocking.
const pollable = true

// writeNow writes what the socket takes at once and never waits: the Go
// runtime keeps sockets non-blocking, and the callback returns true so the
// runtime does not park the writer for the rest. n < len(b) with a nil
// error means the socket's buffer is full.
func writeNow(raw syscall.RawConn, b []byte) (n int, err error) {
	cerr := raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			k, werr := syscall.Write(int(fd), b[n:])
			if k > 0 {
				n += k
			}
			switch {
			case werr == nil && k > 0, errors.Is(werr, syscall.EINTR):
				continue
			case errors.Is(werr, syscall.EAGAIN):
			case werr != nil:
				err = werr
			default:
				err = syscall.EIO // 0 bytes and no error: never from a socket
			}
			return true
		}
		return true
	})
	if err == nil {
		err = cerr
	}
	return n, err
}

// peerClosed peeks, without waiting, whether the client closed or reset
// the connection; bytes it sent are left where they are.
func peerClosed(raw syscall.RawConn) bool {
	var (
		n    int
		rerr error
		one  [1]byte
	)
	if err := raw.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	}); err != nil {
		return true
	}
	switch {
	case rerr == nil:
		return n == 0 // an orderly close
	case errors.Is(rerr, syscall.EAGAIN), errors.Is(rerr, syscall.EINTR):
		return false
	default:
		return true // reset
	}
}
