// Package csvcell keeps the CSV downloads (the summary report, the meeting
// pack) from handing a spreadsheet text someone typed that it would read
// as a formula: one rule for every CSV escalate writes.
package csvcell

import "strings"

// Safe is v with a leading apostrophe when it starts with a character a
// spreadsheet takes as the start of a formula (=, +, -, @, tab, CR).
func Safe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
