//go:build !linux

package load

import (
	"net"
	"strconv"
)

// holdDeadPort elsewhere picks a free loopback port and lets it go: nothing
// listens there when the comparison starts, and checkDeadPort says so, but
// unlike on Linux nothing stops another process from binding it later.
func holdDeadPort() (port int, release func() error, err error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return 0, nil, err
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, nil, err
	}
	port, err = strconv.Atoi(p)
	return port, func() error { return nil }, err
}
