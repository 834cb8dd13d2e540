// Package oneline makes text that came from outside escalate's own checks
// (an operator's reason in Temporal, a workflow's failure) safe to put on
// the record: one printable line of bounded length.
package oneline

import (
	"strings"
	"unicode"
)

// Clean keeps the printable text of s on one line, at most max runes:
// invalid UTF-8 and control characters are dropped, line breaks and tabs
// become spaces.
func Clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(s, "") {
		if n == max {
			break
		}
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			r = ' '
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			continue
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}
