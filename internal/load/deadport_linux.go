//go:build linux

package load

import (
	"fmt"
	"syscall"
)

// holdDeadPort binds a TCP socket to a free loopback port and never listens
// on it, until release: the kernel refuses every connection to the port
// (it answers with a reset), and no other socket can bind it meanwhile, so
// that a server started later on a free port cannot land on it.
func holdDeadPort() (port int, release func() error, err error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, nil, fmt.Errorf("hold a dead port: socket: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		_ = syscall.Close(fd)
		return 0, nil, fmt.Errorf("hold a dead port: bind: %w", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		_ = syscall.Close(fd)
		return 0, nil, fmt.Errorf("hold a dead port: %w", err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		_ = syscall.Close(fd)
		return 0, nil, fmt.Errorf("hold a dead port: bound to %T", sa)
	}
	return in4.Port, func() error { return syscall.Close(fd) }, nil
}
