package policies

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mailboxes in policy files are addresses mail goes to and headers are
// built from, so the loader takes only plain, plausible ones: one @, a
// local part of the characters RFC 5322 allows unquoted, a domain of at
// least two dot-separated labels, and nothing that could end a header line.

// emailProblem says what is wrong with a mailbox address, or "" if nothing.
func emailProblem(s string) string {
	if s == "" {
		return "missing"
	}
	if p := controlProblem(s); p != "" {
		return p
	}
	if len(s) > 254 {
		return "longer than 254 characters"
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok {
		return "no @"
	}
	if strings.Contains(domain, "@") {
		return "more than one @"
	}
	if local == "" || len(local) > 64 {
		return "the part before @ must be 1 to 64 characters"
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "a dot at the start or end of the part before @, or two in a row"
	}
	for _, r := range local {
		if !(r < utf8.RuneSelf && (isAlnum(byte(r)) || strings.ContainsRune(".!#$%&'*+/=?^_`{|}~-", r))) {
			return fmt.Sprintf("%q is not allowed before @", r)
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "the domain needs a dot, e.g. partnership.example.org"
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Sprintf("domain %q is not a host name", domain)
		}
		for i := 0; i < len(l); i++ {
			if !isAlnum(l[i]) && l[i] != '-' {
				return fmt.Sprintf("domain %q is not a host name", domain)
			}
		}
	}
	tld := labels[len(labels)-1]
	for i := 0; i < len(tld); i++ {
		if !('a' <= tld[i]|0x20 && tld[i]|0x20 <= 'z') {
			return fmt.Sprintf("domain %q does not end in a top-level domain", domain)
		}
	}
	return ""
}

// nameProblem says what is wrong with a person's or mailbox's name, or "".
func nameProblem(s string) string {
	if strings.TrimSpace(s) == "" {
		return "missing"
	}
	if p := controlProblem(s); p != "" {
		return p
	}
	if n := utf8.RuneCountInString(s); n > 200 {
		return fmt.Sprintf("%d characters; at most 200", n)
	}
	return ""
}

// controlProblem: names and mailboxes are one line of valid UTF-8.
func controlProblem(s string) string {
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "contains a line break or another control character"
		}
	}
	return ""
}

func isAlnum(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// checkContact validates a name and mailbox at path (e.g. "business_office"
// or "agencies", 2, "escalation_contact"); what says whose mailbox it is.
func (v *validator) checkContact(c Contact, what string, path ...any) {
	at := func(field string) []any { return append(append([]any{}, path...), field) }
	if p := nameProblem(c.Name); p != "" {
		v.fail(p, "name "+what, at("name")...)
	}
	v.checkEmail(c.Email, what, at("email")...)
}

// checkEmail validates a mailbox address at path.
func (v *validator) checkEmail(email, what string, path ...any) {
	if p := emailProblem(email); p != "" {
		v.fail(fmt.Sprintf("%q is not an email address: %s", email, p), "give the mailbox of "+what+", e.g. name@partnership.example.org", path...)
	}
}
