package api

// Request decoding: bodies and queries into the request structs, with every
// failure a 400 naming the field by its path. The error model itself and
// its mapping are in errors.go.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"github.com/go-playground/validator/v10"

	"escalate/cases"
)

// bindJSON decodes the body, which must be exactly one JSON object, into
// dst and validates it. Every failure is a 400 invalid_request; a field that
// is unknown, of the wrong type or invalid is named by its path from the
// top of the body ("respondent.dob", "actions[0].by").
func bindJSON(c *gin.Context, dst any) error {
	if c.Request.Body == nil {
		return invalid("the body is empty; send a JSON object", nil)
	}
	return decodeJSON(c.Request.Body, dst)
}

func decodeJSON(body io.Reader, dst any) error {
	dec := json.NewDecoder(body)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return bindError(err)
	}
	// One object and nothing after it: a second value or stray text means
	// the client sent something other than what it meant to.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return invalid("the body is over 64 KiB", nil)
		}
		return invalid("the body must be one JSON object with nothing after it", nil)
	}
	// encoding/json would replace invalid UTF-8, and a \u escape of half
	// a surrogate pair, with U+FFFD without a word: refuse them instead.
	if !utf8.Valid(raw) {
		return invalid("the body is not valid UTF-8", nil)
	}
	if !validUTF16Escapes(raw) {
		return invalid("the body has a \\u escape of half a UTF-16 surrogate pair: escape characters outside the BMP as a whole pair, or send them as UTF-8", nil)
	}
	var v any
	generic := json.NewDecoder(bytes.NewReader(raw))
	generic.UseNumber()
	if err := generic.Decode(&v); err != nil {
		return bindError(err)
	}
	if _, ok := v.(map[string]any); !ok {
		return invalid("the body must be a JSON object", nil)
	}
	fields := map[string]string{}
	checkShape(v, reflect.TypeOf(dst), "", fields)
	if len(fields) > 0 {
		return invalid("the request is not valid", fields)
	}
	// The shape is right, so the strict decode below cannot disagree with it.
	strict := json.NewDecoder(bytes.NewReader(raw))
	strict.DisallowUnknownFields()
	if err := strict.Decode(dst); err != nil {
		return bindError(err)
	}
	if err := binding.Validator.ValidateStruct(dst); err != nil {
		return bindError(err)
	}
	return nil
}

// checkShape compares a decoded JSON value with the Go type it is meant for
// and records, by path, every unknown field and every value of the wrong
// type. Keys must match the json tag exactly. null is left to the field
// rules (a required field that is null is "required").
func checkShape(v any, t reflect.Type, path string, fields map[string]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return
	}
	wrong := func(what string) { fields[pathOrBody(path)] = "must be " + what }
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			wrong("an object")
			return
		}
		known := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.SplitN(f.Tag.Get("json"), ",", 2)[0]
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			known[name] = f.Type
		}
		for k, fv := range obj {
			sub := joinPath(path, k)
			ft, ok := known[k]
			if !ok {
				fields[sub] = "unknown field"
				continue
			}
			checkShape(fv, ft, sub, fields)
		}
	case reflect.Slice, reflect.Array:
		arr, ok := v.([]any)
		if !ok {
			wrong("an array")
			return
		}
		for i, ev := range arr {
			checkShape(ev, t.Elem(), fmt.Sprintf("%s[%d]", path, i), fields)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			wrong("an object")
			return
		}
		for k, ev := range obj {
			checkShape(ev, t.Elem(), joinPath(path, k), fields)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			wrong("a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			wrong("true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			wrong("a whole number")
		} else if _, err := strconv.ParseInt(n.String(), 10, t.Bits()); err != nil {
			wrong("a whole number in range")
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(json.Number)
		if !ok {
			wrong("a whole number")
		} else if _, err := strconv.ParseUint(n.String(), 10, t.Bits()); err != nil {
			wrong("a whole number in range")
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			wrong("a number")
		}
	}
}

// joinPath names key within path: "respondent.dob"; a key that is empty,
// could be misread as a path or holds control characters is quoted (Go
// escapes, never the raw bytes): respondent["a.b"], ["a\x1b"].
func joinPath(path, key string) string {
	if key == "" || strings.ContainsAny(key, ".[]\"\\ ") || singleLineProblem(key) != "" {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func pathOrBody(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// bindQuery reads the query parameters named by dst's form tags into dst
// and validates it. A value that does not parse is a 400 naming its
// parameter; an empty value is the same as none; a parameter given twice is
// refused rather than guessed at.
func bindQuery(c *gin.Context, dst any) error {
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	q := c.Request.URL.Query()
	fields := map[string]string{}
	for i := 0; i < t.NumField(); i++ {
		name := strings.SplitN(t.Field(i).Tag.Get("form"), ",", 2)[0]
		if name == "" || name == "-" {
			continue
		}
		vals := q[name]
		if len(vals) > 1 {
			fields[name] = "give it at most once"
			continue
		}
		if len(vals) == 0 || vals[0] == "" {
			continue
		}
		if why := setQueryValue(v.Field(i), vals[0]); why != "" {
			fields[name] = why
		}
	}
	if len(fields) > 0 {
		return invalid("the query is not valid", fields)
	}
	if err := binding.Validator.ValidateStruct(dst); err != nil {
		return bindError(err)
	}
	return nil
}

// setQueryValue parses s into f, or says why it cannot.
func setQueryValue(f reflect.Value, s string) string {
	if f.Kind() == reflect.Pointer {
		p := reflect.New(f.Type().Elem())
		if why := setQueryValue(p.Elem(), s); why != "" {
			return why
		}
		f.Set(p)
		return ""
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, f.Type().Bits())
		if err != nil {
			return "must be a whole number"
		}
		f.SetInt(n)
	case reflect.Bool:
		switch s {
		case "true":
			f.SetBool(true)
		case "false":
			f.SetBool(false)
		default:
			return "must be true or false"
		}
	default:
		panic("bindQuery: unsupported field kind " + f.Kind().String())
	}
	return ""
}

func bindError(err error) error {
	var maxErr *http.MaxBytesError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var verrs validator.ValidationErrors
	switch {
	case errors.As(err, &maxErr):
		return invalid("the body is over 64 KiB", nil)
	case errors.Is(err, io.EOF):
		return invalid("the body is empty; send a JSON object", nil)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("the body is not valid JSON", nil)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return invalid("the body must be a JSON object", nil)
		}
		return invalidField(field, "must be "+jsonType(typeErr.Type.String()))
	case errors.As(err, &verrs):
		fields := map[string]string{}
		for _, fe := range verrs {
			fields[fieldPath(fe.Namespace())] = describe(fe)
		}
		return invalid("the request is not valid", fields)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalidField(name, "unknown field")
	}
	return invalid("the request could not be read", nil)
}

func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

// fieldPath turns "createCaseRequest.respondent.email" into "respondent.email".
func fieldPath(ns string) string {
	if i := strings.Index(ns, "."); i >= 0 {
		return ns[i+1:]
	}
	return ns
}

// describe is the reason a field broke its rule: the core's words, the
// same the pages show.
func describe(fe validator.FieldError) string { return cases.Describe(fe) }
