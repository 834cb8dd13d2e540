package cases

import (
	"errors"
	"reflect"
	"regexp"
	"strings"

	"github.com/go-playground/validator/v10"

	"escalate/internal/textrule"
)

// The field rules of the requests (their binding tags) and the words each
// refusal is given in, for the JSON API (which binds with Gin's validator,
// given the same rules by RegisterRules) and the pages (Check): one rule,
// one message, wherever a person sends a value.

// ChildRefPattern is what a child's record reference may be.
var ChildRefPattern = regexp.MustCompile(`^[A-Za-z0-9/-]{1,64}$`)

// RegisterRules adds the tags the requests use (notblank, childref, text,
// singleline) to v, and names fields by their json (or form) names.
func RegisterRules(v *validator.Validate) {
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		for _, tag := range []string{"json", "form"} {
			if name := strings.SplitN(f.Tag.Get(tag), ",", 2)[0]; name != "" && name != "-" {
				return name
			}
		}
		return f.Name
	})
	_ = v.RegisterValidation("notblank", func(fl validator.FieldLevel) bool {
		return strings.TrimSpace(fl.Field().String()) != ""
	})
	_ = v.RegisterValidation("childref", func(fl validator.FieldLevel) bool {
		return ChildRefPattern.MatchString(fl.Field().String())
	})
	_ = v.RegisterValidation("text", func(fl validator.FieldLevel) bool {
		return textrule.TextProblem(fl.Field().String()) == ""
	})
	_ = v.RegisterValidation("singleline", func(fl validator.FieldLevel) bool {
		return textrule.SingleLineProblem(fl.Field().String()) == ""
	})
}

var validate = func() *validator.Validate {
	v := validator.New()
	v.SetTagName("binding")
	RegisterRules(v)
	return v
}()

// Check applies a request's field rules (its binding tags): nil, or an
// Invalid error naming each field that breaks one, in the API's words.
func Check(req any) error {
	err := validate.Struct(req)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return InvalidFields("the request could not be read", nil)
	}
	return InvalidFields("the request is not valid", FieldReasons(verrs))
}

// FieldReasons are the reasons, by field path ("respondent.email",
// "actions[0].by"), for each failed rule.
func FieldReasons(verrs validator.ValidationErrors) map[string]string {
	fields := map[string]string{}
	for _, fe := range verrs {
		fields[fieldPath(fe.Namespace())] = Describe(fe)
	}
	return fields
}

// fieldPath turns "StartRequest.respondent.email" into "respondent.email".
func fieldPath(ns string) string {
	if i := strings.Index(ns, "."); i >= 0 {
		return ns[i+1:]
	}
	return ns
}

// Describe is the reason a field broke its rule.
func Describe(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required", "notblank":
		return "required"
	case "max":
		switch fe.Kind() {
		case reflect.Slice:
			return "at most " + fe.Param() + " items"
		case reflect.String:
			return "at most " + fe.Param() + " characters"
		}
		return "at most " + fe.Param()
	case "min":
		return "at least " + fe.Param()
	case "email":
		return "must be an email address"
	case "oneof":
		return "must be one of: " + fe.Param()
	case "childref":
		return "letters, digits, '-' and '/' only, at most 64"
	case "text":
		s, _ := fe.Value().(string)
		return textrule.TextProblem(s)
	case "singleline":
		s, _ := fe.Value().(string)
		return textrule.SingleLineProblem(s)
	}
	return "is not valid (" + fe.Tag() + ")"
}

// maxIdempotencyKey is the longest Idempotency-Key accepted.
const maxIdempotencyKey = 200

// IdempotencyKeyProblem: a key is at most 200 printable ASCII characters
// (letters, digits, punctuation, spaces), e.g. a UUID; empty means none.
func IdempotencyKeyProblem(key string) string {
	if len(key) > maxIdempotencyKey {
		return "at most 200 characters"
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return "printable ASCII characters only (letters, digits, punctuation, spaces), e.g. a UUID"
		}
	}
	return ""
}

// checkKey refuses a malformed Idempotency-Key.
func checkKey(key string) error {
	if why := IdempotencyKeyProblem(key); why != "" {
		return InvalidField("Idempotency-Key", why)
	}
	return nil
}
