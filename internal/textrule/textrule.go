// Package textrule is the one rule for what text escalate accepts from
// outside: the JSON API's field rules and the pages' input checks both
// call it. Control characters are what PostgreSQL refuses (NUL), what
// breaks mail headers and CSV rows (CR, LF) and what terminals interpret
// (ESC); nobody types them.
package textrule

import (
	"unicode"
	"unicode/utf8"
)

// TextProblem says why s cannot be multi-line text (a note, a reason), or
// "" if it can: valid UTF-8 with no control character but newline and tab.
func TextProblem(s string) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for _, r := range s {
		if r != '\n' && r != '\t' && unicode.Is(unicode.Cc, r) {
			return "must not contain control characters (only newlines and tabs)"
		}
	}
	return ""
}

// SingleLineProblem says why s cannot be a single-line value (a name, an
// email, an id, a path or query value), or "": valid UTF-8 with no control
// character at all, no line or paragraph separator (U+2028, U+2029) and no
// bidirectional embedding, override or isolate, which can make a name or
// address display as something it is not. Right-to-left marks and joiners,
// which real names need, are allowed.
func SingleLineProblem(s string) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Cc, r), r == '\u2028', r == '\u2029':
			return "must be one line, without control characters, line breaks or tabs"
		case BidiControl(r):
			return "must not contain bidirectional override characters (U+202A-U+202E, U+2066-U+2069)"
		}
	}
	return ""
}

// BidiControl: the explicit bidirectional embeddings, overrides and
// isolates, with which text can display in another order than it is.
func BidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}
