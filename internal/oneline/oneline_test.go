package oneline

import "testing"

func TestClean(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"Duplicate\x00 of\nNSCP-1\r\n", 500, "Duplicate of NSCP-1"},
		{"a\u2028b\tc", 500, "ab c"},
		{"bad \xff byte", 500, "bad  byte"},
		{"  spaced  ", 500, "spaced"},
		{"abcdef", 3, "abc"},
		{"\x1b[31mred", 500, "[31mred"},
	} {
		if got := Clean(c.in, c.max); got != c.want {
			t.Errorf("Clean(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}
