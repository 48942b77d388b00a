package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address a request came from, for limiting what one
// machine may do: the peer's, or, when the peer is a trusted proxy, the
// nearest address in Forwarded (RFC 7239) or else X-Forwarded-For that no
// trusted proxy added. Each proxy appends the address it heard from, so the
// list is read from the right, and what a client wrote to the left of its
// first untrusted hop is never believed. An IPv6 client is counted by its
// /64, which one subscriber usually has whole.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	addr := peer
	if len(trusted) > 0 && isTrusted(peer, trusted) {
		hops := forwardedFor(r.Header)
		for i := len(hops) - 1; i >= 0; i-- {
			hop, ok := parseHop(hops[i])
			if !ok {
				break // a hop no proxy of ours wrote: stop at the last one believed
			}
			addr = hop
			if !isTrusted(hop, trusted) {
				break
			}
		}
	}
	return addrKey(addr)
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr is the address of RemoteAddr ("host:port").
func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// forwardedFor lists the hops a request went through, oldest first: the
// for= of each Forwarded element, or, without Forwarded, X-Forwarded-For.
func forwardedFor(h http.Header) []string {
	var hops []string
	if fwd := h.Values("Forwarded"); len(fwd) > 0 {
		for _, v := range fwd {
			for elem := range strings.SplitSeq(v, ",") {
				hop := ""
				for pair := range strings.SplitSeq(elem, ";") {
					k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if ok && strings.EqualFold(k, "for") {
						hop = val
					}
				}
				hops = append(hops, hop)
			}
		}
		return hops
	}
	for _, v := range h.Values("X-Forwarded-For") {
		for hop := range strings.SplitSeq(v, ",") {
			hops = append(hops, hop)
		}
	}
	return hops
}

// parseHop reads one hop: an address, perhaps quoted, perhaps with a port
// ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseHop(s string) (netip.Addr, bool) {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// addrKey is what one client is counted as.
func addrKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
