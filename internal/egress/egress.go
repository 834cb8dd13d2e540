// Package egress decides where escalate may send agencies' webhooks: public
// addresses only, unless the deployment allows private ones
// (WEBHOOK_ALLOW_PRIVATE). It is checked twice: when an admin sets a
// webhook (CheckHost: a clear 400 at once) and on every connection a
// delivery makes (Control: the address really connected to, after DNS,
// so a name whose DNS changes after it was set still cannot reach the
// metadata service, the Temporal frontend or PostgreSQL).
package egress

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// notPublic are the special-purpose ranges (IANA's IPv4 and IPv6
// special-purpose address registries) that are not reachable on the public
// internet or that reach this machine or its networks. IsGlobalUnicast and
// IsPrivate in Public already exclude loopback, link-local, multicast,
// unspecified, broadcast, RFC 1918 and fc00::/7.
var notPublic = prefixes(
	"0.0.0.0/8",       // "this network"
	"100.64.0.0/10",   // shared address space (carrier-grade NAT)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local, the cloud metadata services
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation
	"192.88.99.0/24",  // 6to4 relay anycast
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation
	"203.0.113.0/24",  // documentation
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, and the broadcast address
	"::/96",           // unspecified, loopback and IPv4-compatible
	"64:ff9b:1::/48",  // local-use IPv4/IPv6 translation
	"100::/64",        // discard-only
	"2001::/23",       // IETF protocol assignments (Teredo, ORCHID, ...)
	"2001:db8::/32",   // documentation
	"3fff::/20",       // documentation
	"5f00::/16",       // segment routing
	"fc00::/7",        // unique local
	"fe80::/10",       // link-local
	"fec0::/10",       // site-local (deprecated)
	"ff00::/8",        // multicast
)

var (
	// nat64 and sixToFour carry an IPv4 address inside: the embedded
	// address must be public too.
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Public reports whether a is a public unicast address a webhook may be
// sent to.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.Zone() != "" || !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(a) {
			return false
		}
	}
	b := a.As16()
	switch {
	case a.Is6() && nat64.Contains(a):
		return Public(netip.AddrFrom4([4]byte(b[12:16])))
	case a.Is6() && sixToFour.Contains(a):
		return Public(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return true
}

// RefusedError is a connection refused because its address is not public.
type RefusedError struct{ Addr netip.Addr }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused to connect to %s: not a public address (set WEBHOOK_ALLOW_PRIVATE=true to allow private networks)", e.Addr)
}

// Control is a net.Dialer Control function that refuses to connect to an
// address that is not public. It runs after name resolution, for each
// address tried, so it sees the address really connected to.
func Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused to connect to %q: cannot check the address: %w", address, err)
	}
	if !Public(ap.Addr()) {
		return &RefusedError{Addr: ap.Addr()}
	}
	return nil
}

// Resolver looks names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// lookupTimeout bounds the lookup CheckHost makes.
const lookupTimeout = 3 * time.Second

// CheckHost says why a webhook may not be sent to host (a URL's Hostname),
// or "" if it may: an address that is not public, a name for this machine,
// an IPv4 address written in another notation (127.1, 2130706433,
// 0x7f.0.0.1) that resolvers read differently, or a name that resolves to
// an address that is not public. A name that does not resolve now passes:
// Control checks every address a delivery connects to.
func CheckHost(ctx context.Context, r Resolver, host string) string {
	if host == "" {
		return "is empty"
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if !Public(a) {
			return fmt.Sprintf("%s is not a public address (loopback, private, link-local, shared, multicast and reserved addresses are refused)", a)
		}
		return ""
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return "names this machine"
	}
	labels := strings.Split(name, ".")
	if last := labels[len(labels)-1]; last == "" || numeric(last) {
		return "is neither a host name nor an IP address in dotted or IPv6 form"
	}
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if !Public(a) {
			return fmt.Sprintf("%s resolves to %s, which is not a public address", host, a.Unmap())
		}
	}
	return ""
}

// numeric: a label that resolvers may read as (part of) an IPv4 address:
// decimal, octal or 0x hex digits. No top-level domain is numeric.
func numeric(label string) bool {
	s := label
	if strings.HasPrefix(s, "0x") {
		s = s[2:]
		if s == "" {
			return true
		}
		for _, c := range s {
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
		return true
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
