package policies

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Turning YAML and decoding errors into one-line mistakes a person can
// find and fix: the line they count, the field, and what was meant.

// keyLine is the line of a top-level key of a YAML mapping, or 1.
func keyLine(data []byte, key string) int {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return 1
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return m.Line
}

// kindName names a YAML node's kind for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	case yaml.AliasNode:
		return "alias"
	}
	return "mapping"
}

// syntaxError turns a YAML syntax error into "<name> line N: <key>: ...".
func syntaxError(name string, data []byte, err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if plain := plainMistake(name, data); plain != "" {
		return plain
	}
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if contains(parserProblems, msg) {
			line++
		}
	}
	lines := strings.Split(string(data), "\n")
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		for i, l := range lines {
			if strings.Contains(l, "*"+m[1]) {
				line = i + 1
				break
			}
		}
	}
	if last := len(strings.Split(strings.TrimRight(string(data), "\n"), "\n")); line > last {
		line = last // the end of a file without a final newline
	}
	if line < 1 {
		line = 1 // yaml.v3 leaves out the line when it is the first
	}
	field := "(syntax)"
	if line <= len(lines) {
		if m := keyOnLine.FindStringSubmatch(lines[line-1]); m != nil {
			field = m[1]
		}
	}
	return fmt.Sprintf("%s line %d: %s: %s; fix the YAML on or just before this line (indentation with spaces, matching quotes and brackets)", name, line, field, msg)
}

// decodeErrors turns the decoder's errors (unknown fields, wrong kinds of
// value, keys given twice) into one "<name> line N: <field>: ..." line each.
func decodeErrors(name string, data []byte, doc *yaml.Node, err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return syntaxError(name, data, err)
	}
	out := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		line, msg := 1, e
		if m := yamlLine.FindStringSubmatch(e); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		var field, problem, fix string
		switch {
		case unknownField.MatchString(msg):
			m := unknownField.FindStringSubmatch(msg)
			what := structName[m[2]]
			if what == "" {
				what = m[2]
			}
			field = fieldAt(doc, line, func(k, _ *yaml.Node) bool { return k.Line == line && k.Value == m[1] })
			problem = fmt.Sprintf("%q is not a field of %s", m[1], what)
			fix = `remove it or correct its spelling (the fields are in README.md, "Policies")`
		case duplicateKey.MatchString(msg):
			m := duplicateKey.FindStringSubmatch(msg)
			field = fieldAt(doc, line, func(k, _ *yaml.Node) bool { return k.Line == line && k.Value == m[1] })
			problem = fmt.Sprintf("given twice (first at line %s)", m[2])
			fix = "keep only one"
		case cannotDecode.MatchString(msg):
			m := cannotDecode.FindStringSubmatch(msg)
			field = fieldAt(doc, line, func(_, v *yaml.Node) bool { return v.Line == line && v.ShortTag() == m[1] })
			problem = msg
			fix = "write " + kindWanted(m[2]) + " here, as in policies/northamptonshire.yaml"
		default:
			problem = msg
			fix = `see README.md, "Policies"`
		}
		if field == "" {
			field = "(document)"
		}
		out = append(out, fmt.Sprintf("%s line %d: %s: %s; %s", name, line, field, problem, fix))
	}
	return strings.Join(out, "\n")
}

// kindWanted says in words what a Go type expects in YAML.
func kindWanted(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "text"
	}
	return "a mapping of fields"
}

// fieldAt is the path (e.g. stages[1].within) of the deepest mapping entry
// or list item of doc for which match(key, value) holds; a list item is
// matched with a key node of line -1, which no line matches.
func fieldAt(doc *yaml.Node, line int, match func(key, value *yaml.Node) bool) string {
	best, bestDepth := "", -1
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if match(k, v) && depth > bestDepth {
					best, bestDepth = p, depth
				}
				walk(v, p, depth+1)
			}
		case yaml.SequenceNode:
			for i, v := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if match(&yaml.Node{Line: -1}, v) && depth > bestDepth {
					best, bestDepth = p, depth
				}
				walk(v, p, depth+1)
			}
		}
	}
	walk(doc, "", 0)
	return best
}

// plainMistake looks for the common hand-editing mistakes whose yaml.v3
// message is misleading or points at the wrong line: a tab used for
// indentation, a quoted value never closed, and a list item left where a
// key belongs. It is only consulted once the YAML has failed to parse.
func plainMistake(name string, data []byte) string {
	lines := strings.Split(string(data), "\n")
	field := func(l string) string {
		if m := keyOnLine.FindStringSubmatch(l); m != nil {
			return m[1]
		}
		return "(syntax)"
	}
	for i, l := range lines {
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if strings.Contains(indent, "\t") && strings.TrimSpace(l) != "" {
			return fmt.Sprintf("%s line %d: %s: a tab character is used for indentation; use indentation with spaces only (two per level, as in the other lines)", name, i+1, field(l))
		}
	}
	for i, l := range lines {
		if unclosedQuote(l) {
			return fmt.Sprintf("%s line %d: %s: the quoted value is never closed, so YAML reads to the unexpected end of stream; add the closing quote (use matching quotes, \" with \" or ' with ')", name, i+1, field(l))
		}
	}
	prev := ""
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if strings.HasPrefix(t, "- ") || t == "-" {
			pi := len(prev) - len(strings.TrimLeft(prev, " "))
			li := len(l) - len(strings.TrimLeft(l, " "))
			pv := strings.TrimSpace(prev)
			if li == pi && !strings.HasPrefix(pv, "-") && keyOnLine.MatchString(prev) && !strings.HasSuffix(stripComment(pv), ":") {
				return fmt.Sprintf("%s line %d: (syntax): a list item where a key was expected (did not find expected key); fix the YAML: indent the item under the key it belongs to, or remove it", name, i+1)
			}
		}
		prev = l
	}
	return ""
}

// unclosedQuote reports whether a "key: value" line opens a double- or
// single-quoted value that does not close on the same line.
func unclosedQuote(l string) bool {
	_, v, ok := strings.Cut(l, ": ")
	if !ok {
		return false
	}
	v = strings.TrimSpace(v)
	if v == "" || (v[0] != '"' && v[0] != '\'') {
		return false
	}
	q := v[0]
	for i := 1; i < len(v); i++ {
		switch {
		case q == '"' && v[i] == '\\':
			i++
		case v[i] == q && q == '\'' && i+1 < len(v) && v[i+1] == '\'':
			i++
		case v[i] == q:
			return false
		}
	}
	return true
}

func stripComment(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}
