package api

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// setPath returns body (a JSON object) with the string at path ("a.b",
// "actions[0].what") replaced by v.
func setPath(t *testing.T, body, path, v string) string {
	t.Helper()
	var root any
	if err := json.Unmarshal([]byte(body), &root); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(path, ".")
	cur := root
	for i, p := range parts {
		idx := -1
		if j := strings.Index(p, "["); j >= 0 {
			n, err := strconv.Atoi(strings.TrimSuffix(p[j+1:], "]"))
			if err != nil {
				t.Fatalf("bad path %q", path)
			}
			p, idx = p[:j], n
		}
		obj := cur.(map[string]any)
		last := i == len(parts)-1
		if idx >= 0 {
			arr := obj[p].([]any)
			if last {
				arr[idx] = v
			} else {
				cur = arr[idx]
			}
			continue
		}
		if last {
			obj[p] = v
		} else {
			cur = obj[p]
		}
	}
	b, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The text fields of every request body, with a valid body to put them in
// and whether the field is multi-line text (newline and tab allowed) or a
// single line (names, emails, agencies, roles, ids, times, URLs).
var textFieldCases = []struct {
	method, path, body string
	single, multi      []string
}{
	{"POST", "/v1/admin/tokens", `{"name":"A","email":"a@b.example","agency":"x","role":"practitioner","expires_at":"2099-01-01T00:00:00Z"}`,
		[]string{"name", "email", "agency", "role", "expires_at"}, nil},
	{"PUT", "/v1/admin/webhooks/nct", `{"url":"https://nct.example/hook"}`, []string{"url"}, nil},
	{"POST", "/v1/cases", `{"policy":"northamptonshire","child_ref":"NCT/1","category":"communication","summary":"s",` +
		`"due_at":"2099-01-01T00:00:00Z","respondent":{"name":"Sam","email":"sam@nct.example","agency":"nct"}}`,
		[]string{"policy", "child_ref", "category", "due_at", "respondent.name", "respondent.email", "respondent.agency"},
		[]string{"summary"}},
	{"POST", "/v1/cases/X-1/notes", `{"text":"t"}`, nil, []string{"text"}},
	{"POST", "/v1/cases/X-1/contacts", `{"side":"raiser","name":"N","email":"n@x.example","role":"line manager"}`,
		[]string{"side", "name", "email", "role"}, nil},
	{"POST", "/v1/cases/X-1/escalations", `{"reason":"r","evidence":"e"}`, nil, []string{"reason", "evidence"}},
	{"POST", "/v1/cases/X-1/deadline", `{"due_at":"2099-01-01T00:00:00Z","reason":"r"}`, []string{"due_at"}, []string{"reason"}},
	{"POST", "/v1/cases/X-1/agreement", `{"outcome":"o","learning":"l","actions":[{"what":"w","who":"x","by":"2099-01-01T00:00:00Z"}]}`,
		[]string{"actions[0].who", "actions[0].by"}, []string{"outcome", "learning", "actions[0].what"}},
	{"POST", "/v1/cases/X-1/agreement/reject", `{"reason":"r"}`, nil, []string{"reason"}},
	{"POST", "/v1/cases/X-1/withdrawal", `{"reason":"r"}`, nil, []string{"reason"}},
	{"POST", "/v1/cases/X-1/outcome", `{"resolved":true,"outcome":"o","learning":"l"}`, nil, []string{"outcome", "learning"}},
	{"POST", "/v1/cases/X-1/review", `{"followed":true,"next_steps":"n"}`, nil, []string{"next_steps"}},
	{"POST", "/v1/cases/X-1/meetings", `{"at":"2099-01-01T00:00:00Z","purpose":"p","facilitator":{"name":"F","email":"f@x.example"}}`,
		[]string{"at", "facilitator.name", "facilitator.email"}, []string{"purpose"}},
	{"POST", "/v1/admin/policies/northamptonshire/closures", `{"date":"2027-05-10","reason":"r"}`, []string{"date"}, []string{"reason"}},
}

// A control character in any text field of any body is refused with a 400
// naming the field, before anything is done: a NUL in a note once reached
// PostgreSQL, which refused it, and the case was stuck for good. Single-line
// fields also refuse line breaks, tabs, Unicode line and paragraph
// separators and bidirectional overrides (a line break in a name stopped
// all mail to that person).
func TestControlCharactersRefused(t *testing.T) {
	h := newTestHandler(t)
	// Refused everywhere.
	everywhere := []string{"\x00", "\r", "\r\n", "\x1b[31m", "\x7f", "\u0085", "\x08", "\x0b", "\x0c"}
	// Refused in single-line fields, allowed in text.
	singleOnly := []string{"\n", "\t", "\u2028", "\u2029", "\u202e", "\u2066"}
	try := func(t *testing.T, method, path, body, field, bad string) {
		t.Helper()
		value := "a" + bad + "b"
		if strings.Contains(field, "email") {
			value = "a" + bad + "b@x.example"
		}
		sent := setPath(t, body, field, value)
		req := httptest.NewRequest(method, path, strings.NewReader(sent))
		req.Header.Set("Authorization", "Bearer test-admin")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var e errorResponse
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusBadRequest || e.Error.Code != "invalid_request" || e.Error.Fields[field] == "" || len(e.Error.Fields) != 1 {
			t.Errorf("%s %s with %s = %q: %d %s; want 400 invalid_request naming only %q", method, path, field, value, rec.Code, rec.Body.String(), field)
		}
	}
	for _, tc := range textFieldCases {
		for _, f := range tc.single {
			for _, bad := range append(append([]string{}, everywhere...), singleOnly...) {
				try(t, tc.method, tc.path, tc.body, f, bad)
			}
		}
		for _, f := range tc.multi {
			for _, bad := range everywhere {
				try(t, tc.method, tc.path, tc.body, f, bad)
			}
		}
	}
}

// What is refused above is what a person would not type; what they do type
// decodes as sent: line breaks and tabs in text, accents, other scripts and
// right-to-left marks in names.
func TestTextThatIsAccepted(t *testing.T) {
	for _, tc := range textFieldCases {
		for _, f := range tc.multi {
			body := setPath(t, tc.body, f, "Line one,\n\tline two: Zoë’s café — 😀 مرحبا")
			if err := decodeOnly(tc.path, body); err != nil {
				t.Errorf("%s %s: %v", tc.path, f, err)
			}
		}
	}
	for _, name := range []string{"Zoë O’Brien-Łukasz", "محمد\u200f علي", "José Ñúñez", "Anne‑Marie 李"} {
		body := setPath(t, textFieldCases[4].body, "name", name)
		if err := decodeOnly("/v1/cases/X-1/contacts", body); err != nil {
			t.Errorf("name %q: %v", name, err)
		}
	}
}

// decodeOnly decodes body into the request type of path's handler.
func decodeOnly(path, body string) error {
	var dst any
	switch {
	case strings.HasSuffix(path, "/notes"):
		dst = &noteRequest{}
	case strings.HasSuffix(path, "/contacts"):
		dst = &contactRequest{}
	case strings.HasSuffix(path, "/escalations"):
		dst = &escalationRequest{}
	case strings.HasSuffix(path, "/deadline"):
		dst = &deadlineRequest{}
	case strings.HasSuffix(path, "/agreement"):
		dst = &agreementRequest{}
	case strings.HasSuffix(path, "/reject"), strings.HasSuffix(path, "/withdrawal"):
		dst = &reasonRequest{}
	case strings.HasSuffix(path, "/outcome"):
		dst = &outcomeRequest{}
	case strings.HasSuffix(path, "/review"):
		dst = &reviewRequest{}
	case strings.HasSuffix(path, "/meetings"):
		dst = &meetingRequest{}
	case strings.HasSuffix(path, "/closures"):
		dst = &addClosureRequest{}
	case path == "/v1/cases":
		dst = &createCaseRequest{}
	default:
		return nil
	}
	return decodeJSON(strings.NewReader(body), dst)
}

// Invalid UTF-8 in a body, and a JSON escape of half a UTF-16 surrogate
// pair, would be silently replaced by U+FFFD when decoded: both are refused
// instead, so what is recorded is what was sent.
func TestBodyMustBeUTF8(t *testing.T) {
	h := newTestHandler(t)
	for _, body := range []string{
		"{\"text\":\"a\xffb\"}",
		"{\"text\":\"caf\xe9\"}", // Latin-1
		"{\"text\":\"\xed\xa0\x80\"}",
		`{"text":"\ud800"}`,
		`{"text":"x\udc00y"}`,
		`{"text":"\ud83d x"}`,
		`{"text":"\ud83d\u0041"}`,
		"{\"te\xffxt\":\"a\"}",
	} {
		req := httptest.NewRequest("POST", "/v1/cases/X-1/notes", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer test-admin")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var e errorResponse
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusBadRequest || e.Error.Code != "invalid_request" {
			t.Errorf("%q: %d %s, want 400 invalid_request", body, rec.Code, rec.Body.String())
		}
	}
	for body, want := range map[string]string{
		`{"text":"\ud83d\ude00 \\ud800"}`: "\U0001F600 \\ud800", // a pair; an escaped backslash then "ud800"
		`{"text":"\u00e9\t\n"}`:           "é\t\n",
	} {
		var req noteRequest
		if err := decodeJSON(strings.NewReader(body), &req); err != nil || req.Text != want {
			t.Errorf("%s: %v %q, want %q", body, err, req.Text, want)
		}
	}
}

// requestTypes are the types the API decodes bodies and queries into, by
// name. TestEveryRequestStringHasATextRule finds every decode in the
// package's source and fails if its type is not here.
var requestTypes = map[string]reflect.Type{
	"createCaseRequest":  reflect.TypeOf(createCaseRequest{}),
	"listCasesQuery":     reflect.TypeOf(listCasesQuery{}),
	"noteRequest":        reflect.TypeOf(noteRequest{}),
	"contactRequest":     reflect.TypeOf(contactRequest{}),
	"escalationRequest":  reflect.TypeOf(escalationRequest{}),
	"deadlineRequest":    reflect.TypeOf(deadlineRequest{}),
	"agreementRequest":   reflect.TypeOf(agreementRequest{}),
	"confirmRequest":     reflect.TypeOf(confirmRequest{}),
	"reasonRequest":      reflect.TypeOf(reasonRequest{}),
	"outcomeRequest":     reflect.TypeOf(outcomeRequest{}),
	"reviewRequest":      reflect.TypeOf(reviewRequest{}),
	"meetingRequest":     reflect.TypeOf(meetingRequest{}),
	"createTokenRequest": reflect.TypeOf(createTokenRequest{}),
	"putWebhookRequest":  reflect.TypeOf(putWebhookRequest{}),
	"reportQuery":        reflect.TypeOf(reportQuery{}),
	"undeliveredQuery":   reflect.TypeOf(undeliveredQuery{}),
	"listTokensQuery":    reflect.TypeOf(listTokensQuery{}),
	"addClosureRequest":  reflect.TypeOf(addClosureRequest{}),
}

// decodedTypes reads the package's (non-test) source and returns the name
// of the type of every value passed to bindJSON, bindQuery or decodeJSON.
func decodedTypes(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := map[string]string{} // type name -> where
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			vars := map[string]string{} // variable -> declared type name
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if spec, ok := n.(*ast.ValueSpec); ok {
					if id, ok := spec.Type.(*ast.Ident); ok {
						for _, v := range spec.Names {
							vars[v.Name] = id.Name
						}
					}
				}
				return true
			})
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				callee, ok := call.Fun.(*ast.Ident)
				if !ok || (callee.Name != "bindJSON" && callee.Name != "bindQuery" && callee.Name != "decodeJSON") || len(call.Args) != 2 {
					return true
				}
				where := fset.Position(call.Pos()).String()
				arg := call.Args[1]
				if u, ok := arg.(*ast.UnaryExpr); ok && u.Op == token.AND {
					switch x := u.X.(type) {
					case *ast.Ident:
						if typ, ok := vars[x.Name]; ok {
							found[typ] = where
							return true
						}
					case *ast.CompositeLit:
						if id, ok := x.Type.(*ast.Ident); ok {
							found[id.Name] = where
							return true
						}
					}
				}
				if id, ok := arg.(*ast.Ident); ok && isParam(fn, id.Name) {
					return true // a decoder passing its own argument on
				}
				t.Errorf("%s: cannot tell what type %s decodes into; declare it with `var req T` and pass &req", where, callee.Name)
				return true
			})
		}
	}
	return found
}

// Every string field of every request body and query has exactly one of
// the two text rules, so a field added later cannot forget them: "text"
// (multi-line: newline and tab allowed) or "singleline". Slices of structs
// must "dive" or their elements' rules would never run.
func TestEveryRequestStringHasATextRule(t *testing.T) {
	found := decodedTypes(t)
	if len(found) < 10 {
		t.Fatalf("found only %d decoded types in the source: %v", len(found), found)
	}
	var names []string
	for name := range found {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		typ, ok := requestTypes[name]
		if !ok {
			t.Errorf("%s decodes into %s, which is not in requestTypes: add it there", found[name], name)
			continue
		}
		checkTextRules(t, typ, name)
	}
	for name := range requestTypes {
		if _, ok := found[name]; !ok {
			t.Errorf("requestTypes lists %s, which nothing decodes into any more: remove it", name)
		}
	}
}

var textRule = regexp.MustCompile(`(^|,)(singleline|text)(,|$)`)

func checkTextRules(t *testing.T, typ reflect.Type, path string) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		name := path + "." + f.Name
		tag := f.Tag.Get("binding")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.String:
			if n := len(textRule.FindAllString(tag, -1)); n != 1 {
				t.Errorf("%s (binding:%q): a string field needs exactly one of the rules singleline or text", name, tag)
			}
		case reflect.Struct:
			if ft.PkgPath() == "time" {
				t.Errorf("%s: decode times from strings with parseTime", name)
				continue
			}
			checkTextRules(t, ft, name)
		case reflect.Slice, reflect.Array:
			et := ft.Elem()
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			_, after, dives := strings.Cut(tag, "dive")
			switch et.Kind() {
			case reflect.String:
				if !dives || len(textRule.FindAllString(strings.TrimPrefix(after, ","), -1)) != 1 {
					t.Errorf("%s (binding:%q): a list of strings needs dive and then exactly one of singleline or text", name, tag)
				}
			case reflect.Struct:
				if !dives {
					t.Errorf("%s (binding:%q): a list of objects needs dive, or its fields' rules never run", name, tag)
				}
				checkTextRules(t, et, name+"[]")
			}
		case reflect.Map, reflect.Interface:
			t.Errorf("%s: maps and interfaces in requests have no text rule here; add one", name)
		}
	}
}

func isParam(fn *ast.FuncDecl, name string) bool {
	for _, f := range fn.Type.Params.List {
		for _, n := range f.Names {
			if n.Name == name {
				return true
			}
		}
	}
	return false
}

// The decoder finds the types even when refactored: a sanity check of the
// AST walk on a known decode.
func TestDecodedTypesFindsKnownDecodes(t *testing.T) {
	found := decodedTypes(t)
	for _, want := range []string{"createCaseRequest", "listCasesQuery", "agreementRequest", "putWebhookRequest"} {
		if _, ok := found[want]; !ok {
			t.Errorf("%s not found among %v", want, found)
		}
	}
	var ae *apiError
	if err := decodeJSON(strings.NewReader(`{"text":"a\u0000b"}`), &noteRequest{}); !errors.As(err, &ae) || ae.Fields["text"] == "" {
		t.Errorf("a NUL in a note decoded: %v", err)
	}
}

// An unknown field is named in the answer; a name with control characters
// is quoted there, never echoed raw into the client's terminal or logs.
func TestUnknownFieldNameQuoted(t *testing.T) {
	for body, want := range map[string]string{
		`{"text":"t","a\u001b[2Jb":1}`: `["a\x1b[2Jb"]`,
		`{"text":"t","a\u0000":1}`:     `["a\x00"]`,
		`{"text":"t","x\u2028y":1}`:    `["x\u2028y"]`,
		`{"text":"t","dob":1}`:         `dob`,
	} {
		var ae *apiError
		err := decodeJSON(strings.NewReader(body), &noteRequest{})
		if !errors.As(err, &ae) || ae.Fields[want] != "unknown field" || len(ae.Fields) != 1 {
			t.Errorf("%s: %v, want the field named %s", body, err, want)
		}
	}
}
