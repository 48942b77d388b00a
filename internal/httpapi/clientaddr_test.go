package httpapi

import (
	"net/http"
	"net/netip"
	"testing"
)

// clientAddr is the key new users are limited by: what it says is what a
// client can, or cannot, change about the count it is in.
func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	for _, c := range []struct {
		name    string
		remote  string
		trusted []netip.Prefix
		header  map[string][]string
		want    string
	}{
		// No proxies: the peer, whatever the headers say.
		{name: "the peer", remote: "198.51.100.7:4711", want: "198.51.100.7"},
		{name: "no proxies, X-Forwarded-For ignored", remote: "198.51.100.7:4711",
			header: map[string][]string{"X-Forwarded-For": {"203.0.113.1"}}, want: "198.51.100.7"},
		{name: "no proxies, Forwarded ignored", remote: "198.51.100.7:4711",
			header: map[string][]string{"Forwarded": {"for=203.0.113.1"}}, want: "198.51.100.7"},
		{name: "an untrusted peer's headers ignored", remote: "198.51.100.7:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"203.0.113.1"}, "Forwarded": {"for=203.0.113.2"}}, want: "198.51.100.7"},
		{name: "a trusted peer with no header", remote: "10.1.2.3:4711", trusted: proxies, want: "10.1.2.3"},

		// X-Forwarded-For from a trusted proxy: read from the right.
		{name: "one hop", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"203.0.113.1"}}, want: "203.0.113.1"},
		{name: "spoofed entries left of the client ignored", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"1.2.3.4, 5.6.7.8, 203.0.113.1"}}, want: "203.0.113.1"},
		{name: "a chain of trusted proxies", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"1.2.3.4, 203.0.113.1, 10.9.9.9, 10.8.8.8"}}, want: "203.0.113.1"},
		{name: "the chain in several headers", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"1.2.3.4", "203.0.113.1", "10.9.9.9"}}, want: "203.0.113.1"},
		{name: "a spoofed trusted address left of the client", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"10.7.7.7, 203.0.113.1"}}, want: "203.0.113.1"},
		{name: "only trusted hops: the farthest", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"10.7.7.7, 10.8.8.8"}}, want: "10.7.7.7"},
		{name: "spaces around hops", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"  1.2.3.4 ,   203.0.113.1  "}}, want: "203.0.113.1"},
		{name: "a hop with a port", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"203.0.113.1:5555"}}, want: "203.0.113.1"},
		{name: "an IPv6 hop in brackets", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"[2001:db8:1:2::9]"}}, want: "2001:db8:1:2::/64"},
		{name: "an IPv6 hop with a port", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"[2001:db8:1:2::9]:443"}}, want: "2001:db8:1:2::/64"},
		{name: "an IPv4-mapped hop", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"::ffff:203.0.113.1"}}, want: "203.0.113.1"},
		{name: "a garbage hop: the last address believed", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"203.0.113.1, not-an-address"}}, want: "10.1.2.3"},
		{name: "garbage left of the client", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"<script>, 203.0.113.1"}}, want: "203.0.113.1"},
		{name: "an empty header", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {""}}, want: "10.1.2.3"},
		{name: "a garbage hop behind a trusted one", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"unknown, 10.9.9.9"}}, want: "10.9.9.9"},

		// Forwarded (RFC 7239), which wins over X-Forwarded-For.
		{name: "Forwarded", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"Forwarded": {"for=203.0.113.1;proto=https;by=10.1.2.3"}}, want: "203.0.113.1"},
		{name: "Forwarded over X-Forwarded-For", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"Forwarded": {"for=203.0.113.1"}, "X-Forwarded-For": {"203.0.113.99"}}, want: "203.0.113.1"},
		{name: "Forwarded, quoted IPv6 and a port", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"Forwarded": {`for="[2001:db8:cafe::17]:4711"`}}, want: "2001:db8:cafe::/64"},
		{name: "Forwarded, quoted IPv4 and a port", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"Forwarded": {`For="203.0.113.1:4711"`}}, want: "203.0.113.1"},
		{name: "Forwarded, quoted IPv6 with no port", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"Forwarded": {`for="[2001:db8:cafe::17]"`}}, want: "2001:db8:cafe::/64"},
		{name: "Forwarded, a chain with spoofed entries", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"Forwarded": {"for=1.2.3.4, for=203.0.113.1;proto=http, for=10.9.9.9"}}, want: "203.0.113.1"},
		{name: "Forwarded, in several headers", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"Forwarded": {"for=1.2.3.4", "for=203.0.113.1"}}, want: "203.0.113.1"},
		{name: "Forwarded, an obfuscated hop", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"Forwarded": {"for=_hidden"}}, want: "10.1.2.3"},
		{name: "Forwarded, unknown", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"Forwarded": {"for=unknown"}}, want: "10.1.2.3"},
		{name: "Forwarded with no for", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"Forwarded": {"proto=https;by=10.1.2.3"}}, want: "10.1.2.3"},
		{name: "Forwarded, garbage", remote: "10.1.2.3:4711", trusted: proxies,
			header: map[string][]string{"Forwarded": {";;,,=;for"}}, want: "10.1.2.3"},

		// IPv6 clients are counted by their /64.
		{name: "an IPv6 peer", remote: "[2001:db8:1:2:3:4:5:6]:443", want: "2001:db8:1:2::/64"},
		{name: "another address of the same /64", remote: "[2001:db8:1:2:ffff:ffff:ffff:ffff]:443", want: "2001:db8:1:2::/64"},
		{name: "the next /64", remote: "[2001:db8:1:3::1]:443", want: "2001:db8:1:3::/64"},
		{name: "an IPv4-mapped peer", remote: "[::ffff:198.51.100.7]:443", want: "198.51.100.7"},
		{name: "a trusted IPv6 proxy", remote: "[2001:db8:ffff:1::1]:443", trusted: proxies,
			header: map[string][]string{"X-Forwarded-For": {"203.0.113.1"}}, want: "203.0.113.1"},
		{name: "loopback proxies", remote: "[::1]:443", trusted: loopback,
			header: map[string][]string{"X-Forwarded-For": {"2001:db8:5:6:7::8, 127.0.0.1"}}, want: "2001:db8:5:6::/64"},

		// A peer address that is none is kept as it is: one key for all.
		{name: "a garbage peer", remote: "garbage", want: "garbage"},
		{name: "no peer", remote: "", want: ""},
		{name: "a peer with no port", remote: "198.51.100.7", want: "198.51.100.7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := http.NewRequest(http.MethodPost, "/reserve", nil)
			if err != nil {
				t.Fatal(err)
			}
			r.RemoteAddr = c.remote
			for k, vs := range c.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := clientAddr(r, c.trusted); got != c.want {
				t.Errorf("clientAddr(%s, %v) = %q, want %q", c.remote, c.header, got, c.want)
			}
		})
	}
}

// A client behind a trusted proxy cannot be counted as anyone else by
// what it writes: however it fills X-Forwarded-For, the proxy's own entry,
// the rightmost, is what counts.
func TestClientAddrCannotBeSpoofedThroughAProxy(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, written := range []string{
		"", "1.1.1.1", "10.0.0.1", "1.1.1.1, 2.2.2.2", "garbage", "[::1]", "2001:db8::1",
		"203.0.113.2", "for=1.1.1.1", "1.1.1.1,", ",", "1.1.1.1, 10.0.0.5",
	} {
		r, err := http.NewRequest(http.MethodPost, "/reserve", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.RemoteAddr = "10.1.2.3:4711"
		if written != "" {
			r.Header.Add("X-Forwarded-For", written)
		}
		r.Header.Add("X-Forwarded-For", "203.0.113.1") // what the proxy appends
		if got := clientAddr(r, trusted); got != "203.0.113.1" {
			t.Errorf("a client that wrote X-Forwarded-For %q is counted as %q, want its own 203.0.113.1", written, got)
		}
	}
}
