package main

import (
	"fmt"
	"net/netip"
	"strings"
)

// prefixes is a flag of comma-separated CIDRs. A bare address counts as its
// own /32 or /128.
type prefixes []netip.Prefix

func (p *prefixes) String() string {
	if p == nil {
		return ""
	}
	s := make([]string, len(*p))
	for i, x := range *p {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

func (p *prefixes) Set(v string) error {
	var out prefixes
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if pre, err := netip.ParsePrefix(part); err == nil {
			out = append(out, pre.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return fmt.Errorf("%q is neither a CIDR nor an address", part)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	*p = out
	return nil
}

// Get makes prefixes a flag.Getter, as every flag's value is.
func (p *prefixes) Get() any { return *p }
