package api

import (
	"net/url"
	"regexp"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"escalate/cases"
	"escalate/internal/textrule"
)

// The two rules for text that people send, in one place. Every string field
// of every request body and query carries one of them as a validator tag
// (TestEveryRequestStringHasATextRule fails if one does not):
//
//   - "text": multi-line free text (notes, reasons, evidence, outcomes,
//     learning, summary, ...): valid UTF-8 with no control character
//     (Unicode category Cc) but newline and tab. A carriage return is
//     refused too, CRLF included: send newlines.
//   - "singleline": names, emails, agencies, roles, ids, times, URLs: valid
//     UTF-8 with no control character at all (no newline or tab either),
//     no Unicode line or paragraph separator (U+2028, U+2029) and no
//     bidirectional embedding, override or isolate (U+202A-U+202E,
//     U+2066-U+2069), which can make a name or address display as
//     something it is not. Right-to-left marks (U+200E, U+200F) and
//     joiners, which real names need, are allowed.
//
// Control characters are what PostgreSQL refuses (NUL), what breaks mail
// headers and CSV rows (CR, LF) and what terminals interpret (ESC); nobody
// types them.

// The rules themselves live in internal/textrule, which the pages use too.
var (
	textProblem       = textrule.TextProblem
	singleLineProblem = textrule.SingleLineProblem
)

// validUTF16Escapes reports whether every \u escape in the JSON text raw
// that encodes half of a UTF-16 surrogate pair is part of a whole pair.
// encoding/json silently turns a lone half into U+FFFD; refusing it keeps
// what is recorded what was sent. raw must be valid JSON.
func validUTF16Escapes(raw []byte) bool {
	inString := false
	for i := 0; i < len(raw); i++ {
		b := raw[i]
		if !inString {
			if b == '"' {
				inString = true
			}
			continue
		}
		switch b {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(raw) {
				return false
			}
			if raw[i+1] != 'u' {
				i++ // the escaped character
				continue
			}
			r, ok := hex4(raw, i+2)
			if !ok {
				return false
			}
			i += 5
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return false // a low half with no high half before it
			case r >= 0xD800 && r <= 0xDBFF:
				if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
					return false
				}
				lo, ok := hex4(raw, i+3)
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return false
				}
				i += 6
			}
		}
	}
	return true
}

// hex4 reads the four hex digits at raw[at:].
func hex4(raw []byte, at int) (rune, bool) {
	if at+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// ---- paths, queries and headers ----

// cleanInput refuses, before any handler runs, a request whose path, query
// or headers hold invalid UTF-8 or control characters, with the contract's
// error body: a path is a 404 (no resource has such a name), a query
// parameter or header a 400 naming it. Each of these once reached
// PostgreSQL, which refused the bytes, and the answer was a 500. Handlers
// still check the values they use (loadCase, revokeToken, decodeCursor,
// the query structs' singleline rule): this is the net under them.
func (s *Server) cleanInput(c *gin.Context) {
	r := c.Request
	if singleLineProblem(r.URL.Path) != "" {
		s.writeError(c, errNotFound)
		return
	}
	if err := queryProblems(r.URL.RawQuery); err != nil {
		s.writeError(c, err)
		return
	}
	fields := map[string]string{}
	for name, values := range r.Header {
		if !headerNamePattern.MatchString(name) {
			fields["headers"] = "a header name is not a valid token"
			continue
		}
		for _, v := range values {
			if why := headerValueProblem(v); why != "" {
				fields[name] = why
			}
		}
	}
	if keys := r.Header.Values("Idempotency-Key"); len(keys) > 1 {
		fields["Idempotency-Key"] = "give it at most once"
	} else if len(keys) == 1 && fields["Idempotency-Key"] == "" {
		if why := idempotencyKeyProblem(keys[0]); why != "" {
			fields["Idempotency-Key"] = why
		}
	}
	if len(fields) > 0 {
		s.writeError(c, invalid("a request header is not valid", fields))
		return
	}
	c.Next()
}

// queryProblems checks every key and value of a raw query.
func queryProblems(raw string) error {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return invalidField("query", "is not a valid query string: percent-encode '%', ';', '&', '=' and '+' inside values")
	}
	fields := map[string]string{}
	for k, vs := range q {
		if singleLineProblem(k) != "" {
			fields["query"] = "a parameter name must be valid UTF-8 without control characters"
			continue
		}
		for _, v := range vs {
			if why := singleLineProblem(v); why != "" {
				fields[k] = why
			}
		}
	}
	if len(fields) > 0 {
		return invalid("the query is not valid", fields)
	}
	return nil
}

// headerNamePattern is RFC 9110's token, which a header name must be.
var headerNamePattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// headerValueProblem: a header value is valid UTF-8 with no control
// character but the horizontal tab HTTP allows.
func headerValueProblem(v string) string {
	if !utf8.ValidString(v) {
		return "must be valid UTF-8"
	}
	for _, r := range v {
		if r != '\t' && unicode.Is(unicode.Cc, r) {
			return "must not contain control characters"
		}
	}
	return ""
}

// The Idempotency-Key's rule and what a case reference may be are the
// core's (cases/check.go, cases/service.go), as the pages use them too.
var (
	idempotencyKeyProblem = cases.IdempotencyKeyProblem
	refPattern            = cases.RefPattern
)

// tokenIDPattern is what a token id in a path may be ("tok_" and hex).
var tokenIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
