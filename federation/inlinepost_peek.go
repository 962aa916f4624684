//go:build linux || darwin || freebsd || netbsd || openbsd

package federation

import (
	"errors"
	"net"
	"syscall"
)

// peekClosed reports whether the peer closed or reset nc, or sent bytes
// nobody asked for, by one non-blocking peek at its socket (a read with a
// past deadline would not look at the socket at all).
func peekClosed(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = n > 0 || n == 0 && rerr == nil || rerr != nil && !errors.Is(rerr, syscall.EAGAIN)
		return true // never wait
	})
	return closed || err != nil
}
