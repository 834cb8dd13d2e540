package egress

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.215.14":          true,
		"8.8.8.8":                true,
		"2606:4700:4700::1111":   true,
		"64:ff9b::808:808":       true, // NAT64 of 8.8.8.8
		"2002:808:808::1":        true, // 6to4 of 8.8.8.8
		"::ffff:8.8.8.8":         true,
		"169.254.169.254":        false,
		"127.0.0.1":              false,
		"127.255.255.254":        false,
		"0.0.0.0":                false,
		"0.1.2.3":                false,
		"10.0.0.1":               false,
		"172.16.0.1":             false,
		"172.31.255.255":         false,
		"192.168.0.1":            false,
		"100.64.0.1":             false,
		"100.127.255.255":        false,
		"192.0.0.8":              false,
		"192.0.2.1":              false,
		"198.18.0.1":             false,
		"198.51.100.1":           false,
		"203.0.113.1":            false,
		"224.0.0.251":            false,
		"239.255.255.250":        false,
		"240.0.0.1":              false,
		"255.255.255.255":        false,
		"::":                     false,
		"::1":                    false,
		"::127.0.0.1":            false,
		"::ffff:127.0.0.1":       false,
		"::ffff:169.254.169.254": false,
		"::ffff:10.0.0.1":        false,
		"64:ff9b::a9fe:a9fe":     false, // NAT64 of 169.254.169.254
		"64:ff9b::7f00:1":        false,
		"64:ff9b:1::1":           false,
		"2002:7f00:1::":          false, // 6to4 of 127.0.0.1
		"2002:a00:1::":           false,
		"2001::1":                false, // Teredo
		"2001:db8::1":            false,
		"100::1":                 false,
		"fc00::1":                false,
		"fd12:3456::1":           false,
		"fe80::1":                false,
		"fe80::1%eth0":           false,
		"fec0::1":                false,
		"ff02::1":                false,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
	if Public(netip.Addr{}) {
		t.Error("the zero Addr is public")
	}
}

func TestControl(t *testing.T) {
	for addr, ok := range map[string]bool{
		"93.184.215.14:443":         true,
		"[2606:4700:4700::1111]:80": true,
		"127.0.0.1:7233":            false,
		"169.254.169.254:80":        false,
		"[::1]:5432":                false,
		"[::ffff:127.0.0.1]:80":     false,
		"[fe80::1%eth0]:80":         false,
		"not-an-address:80":         false,
	} {
		err := Control("tcp", addr, nil)
		if (err == nil) != ok {
			t.Errorf("Control(%s): %v, want allowed %v", addr, err, ok)
		}
		var re *RefusedError
		if err != nil && addr != "not-an-address:80" && (!errors.As(err, &re) || !strings.Contains(err.Error(), "not a public address")) {
			t.Errorf("Control(%s): %v", addr, err)
		}
	}
}

type table map[string][]string

func (tb table) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := tb[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []netip.Addr
	for _, ip := range ips {
		out = append(out, netip.MustParseAddr(ip))
	}
	return out, nil
}

func TestCheckHost(t *testing.T) {
	r := table{
		"agency.example":     {"93.184.215.14", "2606:4700:4700::1111"},
		"rebind.example":     {"93.184.215.14", "127.0.0.1"},
		"evil.example":       {"127.0.0.1"},
		"metadata.example":   {"::ffff:169.254.169.254"},
		"1.2.3.4.nip.io":     {"1.2.3.4"},
		"10.0.0.1.nip.io":    {"10.0.0.1"},
		"internal.corp.test": {"10.1.1.1"},
	}
	for host, ok := range map[string]bool{
		"agency.example":       true,
		"AGENCY.example.":      true, // looked up as agency.example
		"unknown.example":      true, // does not resolve now: Control checks at delivery
		"1.2.3.4.nip.io":       true,
		"93.184.215.14":        true,
		"2606:4700:4700::1111": true,
		"":                     false,
		"rebind.example":       false,
		"evil.example":         false,
		"metadata.example":     false,
		"10.0.0.1.nip.io":      false,
		"internal.corp.test":   false,
		"localhost":            false,
		"LocalHost.":           false,
		"api.localhost":        false,
		"127.0.0.1":            false,
		"::1":                  false,
		"127.1":                false,
		"2130706433":           false,
		"0x7f000001":           false,
		"0x7f.0.0.1":           false,
		"0177.0.0.1":           false,
		"0":                    false,
		"example.":             true,
	} {
		why := CheckHost(context.Background(), r, host)
		if (why == "") != ok {
			t.Errorf("CheckHost(%q) = %q, want allowed %v", host, why, ok)
		}
	}
}
