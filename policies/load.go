package policies

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed *.yaml
var embedded embed.FS

// Registry is the set of loaded policies, keyed by id.
type Registry struct {
	byID map[string]Policy
	ids  []string
}

// Load reads the embedded policies and then every *.yaml / *.yml file in dir
// (if dir is not empty); a file in dir with the id of an embedded policy
// replaces it. Any mistake refuses the whole set, naming file, line and fix.
func Load(dir string) (*Registry, error) {
	r := &Registry{byID: map[string]Policy{}}
	from := map[string]string{}   // id -> file it came from
	drillLine := map[string]int{} // id -> line of drill_of in that file
	add := func(name string, data []byte) error {
		p, err := Parse(name, data)
		if err != nil {
			return err
		}
		if prev, ok := from[p.ID]; ok && !strings.HasPrefix(prev, "embedded:") {
			return fmt.Errorf("%s line %d: id: policy id %q is also defined in %s; give each policy its own id", name, keyLine(data, "id"), p.ID, prev)
		}
		from[p.ID] = name
		delete(drillLine, p.ID)
		if p.DrillOf != "" {
			drillLine[p.ID] = keyLine(data, "drill_of")
		}
		r.byID[p.ID] = p
		return nil
	}
	entries, err := fs.ReadDir(embedded, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		data, err := embedded.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		if err := add("embedded:policies/"+e.Name(), data); err != nil {
			return nil, err
		}
	}
	if dir != "" {
		files, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("POLICY_DIR %s: %w", dir, err)
		}
		for _, f := range files {
			ext := filepath.Ext(f.Name())
			if f.IsDir() || (ext != ".yaml" && ext != ".yml") {
				continue
			}
			path := filepath.Join(dir, f.Name())
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			if err := add(path, data); err != nil {
				return nil, err
			}
		}
	}
	if err := r.resolveDrills(from, drillLine); err != nil {
		return nil, err
	}
	for id := range r.byID {
		r.ids = append(r.ids, id)
	}
	sort.Strings(r.ids)
	if len(r.ids) == 0 {
		return nil, errors.New("no policies loaded")
	}
	return r, nil
}

// Get returns the policy with the given id.
func (r *Registry) Get(id string) (Policy, bool) {
	p, ok := r.byID[id]
	return p, ok
}

// All returns every policy, sorted by id.
func (r *Registry) All() []Policy {
	out := make([]Policy, 0, len(r.ids))
	for _, id := range r.ids {
		out = append(out, r.byID[id])
	}
	return out
}

var (
	idPattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	prefixPattern = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,9}$`)
	datePattern   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// Parse reads and validates one policy file. name is used in messages,
// which are one line per mistake: "<name> line N: <field>: <problem>; <fix>".
func Parse(name string, data []byte) (Policy, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Policy{}, errors.New(syntaxError(name, data, err))
	}
	if len(root.Content) == 0 {
		return Policy{}, fmt.Errorf("%s line 1: (document): the file is empty; write a policy, starting from a copy of policies/northamptonshire.yaml", name)
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return Policy{}, fmt.Errorf("%s line %d: (document): a policy is a mapping of fields (id: ..., stages: ...), not a %s; start from a copy of policies/northamptonshire.yaml", name, doc.Line, kindName(doc))
	}
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return Policy{}, errors.New(decodeErrors(name, data, doc, err))
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return Policy{}, errors.New(syntaxError(name, data, err))
	case len(next.Content) > 0 && !(next.Content[0].Kind == yaml.ScalarNode && next.Content[0].Tag == "!!null"):
		return Policy{}, fmt.Errorf("%s line %d: (document): a second YAML document after ---; put each policy in its own file", name, next.Content[0].Line)
	}
	v := validator{name: name, root: doc}
	if p.DrillOf != "" {
		v.checkDrill(&p)
	} else {
		v.check(&p)
	}
	if len(v.errs) > 0 {
		return Policy{}, errors.New(strings.Join(v.errs, "\n"))
	}
	return p, nil
}

type validator struct {
	name string
	root *yaml.Node
	errs []string
}

// line finds the line of a path such as "stages", 2, "within" in the
// document, falling back to the nearest parent that exists.
func (v *validator) line(path ...any) int {
	n := v.root
	line := n.Line
	for _, step := range path {
		switch s := step.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return line
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == s {
					line = n.Content[i].Line
					n = n.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return line
			}
		case int:
			if n.Kind != yaml.SequenceNode || s >= len(n.Content) {
				return line
			}
			n = n.Content[s]
			line = n.Line
		}
	}
	return line
}

func (v *validator) fail(msg, fix string, path ...any) {
	field := ""
	for i, p := range path {
		switch s := p.(type) {
		case string:
			if i > 0 {
				field += "."
			}
			field += s
		case int:
			field += fmt.Sprintf("[%d]", s)
		}
	}
	v.errs = append(v.errs, fmt.Sprintf("%s line %d: %s: %s; %s", v.name, v.line(path...), field, msg, fix))
}

func (v *validator) check(p *Policy) {
	if !idPattern.MatchString(p.ID) {
		v.fail(fmt.Sprintf("%q is not a policy id", p.ID), "use lower-case letters, digits and hyphens, e.g. northamptonshire", "id")
	}
	if strings.TrimSpace(p.Name) == "" {
		v.fail("missing", "name the partnership and procedure", "name")
	}
	if !prefixPattern.MatchString(p.RefPrefix) {
		v.fail(fmt.Sprintf("%q is not a reference prefix", p.RefPrefix), "use 2 to 10 capital letters or digits, e.g. NSCP", "ref_prefix")
	}
	if strings.TrimSpace(p.Source) == "" {
		v.fail("missing", "cite the source document the policy implements", "source")
	}
	if strings.TrimSpace(p.SafetyNotice) == "" {
		v.fail("missing", "give the immediate-risk notice shown whenever a case starts", "safety_notice")
	}
	if p.Timezone == "" {
		p.Timezone = "Europe/London"
	}
	if p.EndOfDay == "" {
		p.EndOfDay = "17:00"
	}
	if !contains(CalendarNames(), p.Calendar) {
		v.fail(fmt.Sprintf("unknown calendar %q", p.Calendar), "use one of "+strings.Join(CalendarNames(), ", "), "calendar")
	}
	if _, err := loadZone(p.Timezone); err != nil {
		v.fail(err.Error(), "use an IANA time zone such as Europe/London", "timezone")
	}
	eod, eodErr := parseEndOfDay(p.EndOfDay)
	if eodErr != nil {
		v.fail(eodErr.Error(), `write the local time a working day ends, 24-hour, e.g. "17:00"`, "end_of_day")
	}
	startGiven := p.StartOfDay != ""
	if !startGiven {
		p.StartOfDay = DefaultStartOfDay
	}
	sod, sodErr := parseStartOfDay(p.StartOfDay)
	if sodErr != nil {
		v.fail(sodErr.Error(), `write the local time a working day starts, 24-hour, e.g. "09:00"`, "start_of_day")
	}
	if eodErr == nil && sodErr == nil && sod >= eod && (startGiven || p.ClockHoursEndInWorkingTime) {
		field := "start_of_day"
		if !startGiven {
			field = "clock_hours_end_in_working_time"
		}
		v.fail(fmt.Sprintf("the working day would start at %s, not before it ends at %s", p.StartOfDay, p.EndOfDay),
			"make start_of_day earlier than end_of_day", field)
	}
	for i, d := range p.Closures {
		if _, err := time.Parse("2006-01-02", d); err != nil || !datePattern.MatchString(d) {
			v.fail(fmt.Sprintf("%q is not a date", d), "write closure dates as yyyy-mm-dd", "closures", i)
		}
	}
	v.checkContact(p.BusinessOffice, "the partnership business office", "business_office")
	if p.LearningTo != nil {
		v.checkContact(*p.LearningTo, "the people learning goes to (e.g. a learning group)", "learning_to")
	}
	if p.OutcomeReportTo != nil {
		v.checkContact(*p.OutcomeReportTo, "the person the partnership stage's outcome is reported to (e.g. the Board Chair)", "outcome_report_to")
	}
	if len(p.Categories) == 0 {
		v.fail("no categories", "list the areas of disagreement the procedure names", "categories")
	}
	seen := map[string]bool{}
	for i, c := range p.Categories {
		if !idPattern.MatchString(c.ID) || seen[c.ID] {
			v.fail(fmt.Sprintf("%q is not a new category id", c.ID), "give each category a unique lower-case id", "categories", i, "id")
		}
		seen[c.ID] = true
		if strings.TrimSpace(c.Label) == "" {
			v.fail("missing", "describe the category", "categories", i, "label")
		}
		switch {
		case c.ID == CategoryOther && !c.NeedsDetail:
			v.fail(fmt.Sprintf("category %q must ask what the disagreement is about", CategoryOther), "add needs_detail: true to it", "categories", i, "id")
		case c.ID != CategoryOther && c.NeedsDetail:
			v.fail(fmt.Sprintf("only category %q needs a detail", CategoryOther), "remove needs_detail, or make this the category other", "categories", i, "needs_detail")
		}
	}
	if len(p.Categories) > 0 && !seen[CategoryOther] {
		v.fail(fmt.Sprintf("no category %q: every document's list of areas is only examples", CategoryOther),
			`add - {id: other, label: "Other (describe)", needs_detail: true}`, "categories")
	}
	seen = map[string]bool{}
	for i, a := range p.Agencies {
		if !idPattern.MatchString(a.ID) || seen[a.ID] {
			v.fail(fmt.Sprintf("%q is not a new agency id", a.ID), "give each agency a unique lower-case id", "agencies", i, "id")
		}
		seen[a.ID] = true
		if p := nameProblem(a.Name); p != "" {
			v.fail(p, "name the agency", "agencies", i, "name")
		}
		if a.EscalationContact == nil {
			v.fail("no escalation contact", "add escalation_contact: {name: ..., email: ...}, the agency's safeguarding lead or duty manager mailbox", "agencies", i)
			continue
		}
		v.checkContact(*a.EscalationContact, "the agency's safeguarding lead or duty manager", "agencies", i, "escalation_contact")
	}
	if len(p.Stages) == 0 {
		v.fail("no stages", "list the procedure's stages in order from 1", "stages")
		return
	}
	partnership := 0
	for i := range p.Stages {
		s := &p.Stages[i]
		if s.Number != i+1 {
			v.fail(fmt.Sprintf("stage number %d out of order", s.Number), fmt.Sprintf("number the stages 1, 2, 3 ... in order; this one should be %d", i+1), "stages", i, "number")
		}
		if strings.TrimSpace(s.Name) == "" {
			v.fail("missing", "name the stage", "stages", i, "name")
		}
		if strings.TrimSpace(s.Who) == "" {
			v.fail("missing", "say who acts at this stage", "stages", i, "who")
		}
		ts, err := ParseTimescale(s.Within)
		if err != nil {
			v.fail(err.Error(), "see README.md (Policies) for the timescale wording", "stages", i, "within")
		}
		s.Timescale = ts
		s.DefaultTimescale = v.optionalTimescale(s.Default, "stages", i, "default")
		s.MaximumTimescale = v.optionalTimescale(s.Maximum, "stages", i, "maximum")
		s.UrgentTimescale = v.optionalTimescale(s.UrgentWithin, "stages", i, "urgent_within")
		if ts.Unit == UnitAgreed && s.DefaultTimescale == nil {
			v.fail(`"agreed per case" needs the partnership's default for when none is agreed`, `add default: "5 working days" (or another timescale)`, "stages", i, "within")
		}
		if ts.Unit != UnitAgreed && (s.Default != "" || s.Maximum != "") {
			v.fail("default and maximum apply only to an \"agreed per case\" stage", "remove them or make within \"agreed per case\"", "stages", i, "default")
		}
		for j := range s.Steps {
			st := &s.Steps[j]
			if strings.TrimSpace(st.Name) == "" || strings.TrimSpace(st.Who) == "" {
				v.fail("a step needs a name and who", "name the step and who acts in it", "stages", i, "steps", j)
			}
			t, err := ParseTimescale(st.Within)
			if err != nil || t.Unit == UnitAgreed {
				v.fail(fmt.Sprintf("step timescale %q is not a fixed timescale", st.Within), `write e.g. "1 working day" or "24 hours"`, "stages", i, "steps", j, "within")
			}
			st.Timescale = t
		}
		if s.Repeat && len(s.Steps) > 0 {
			v.fail("a stage cannot both repeat and have steps", "use one of repeat or steps", "stages", i, "repeat")
		}
		if s.Meeting == "" && (s.FacilitatorRole != "" || s.FacilitatorIndependent) {
			field := "facilitator_role"
			if s.FacilitatorIndependent {
				field = "facilitator_independent"
			}
			v.fail("a facilitator applies only to a stage that holds a meeting", "add meeting: <the meeting's name> or remove it", "stages", i, field)
		}
		if s.OutcomeAfterMeeting && (s.Meeting == "" || !s.Partnership) {
			v.fail("outcome_after_meeting orders the partnership stage's outcome after its meeting: this stage has no meeting or is not the partnership stage",
				"add meeting: <the meeting's name> on the partnership stage, or remove outcome_after_meeting", "stages", i, "outcome_after_meeting")
		}
		if s.Review && i == 0 {
			v.fail("the first stage has no earlier stages to review", "put review: true on a later stage", "stages", i, "review")
		}
		for j, role := range s.NotifyRoles {
			if !p.directoryHasRole(role) {
				v.fail(fmt.Sprintf("role %q is not in the directory", role), "add directory entries with this role or remove it", "stages", i, "notify_roles", j)
			}
		}
		if s.OfficeHelpsFindContacts && len(s.NotifyRoles) == 0 {
			v.fail("the business office helps find the contacts of the stage's notify_roles, and there are none",
				"add notify_roles: [<directory role>] or remove office_helps_find_contacts", "stages", i, "office_helps_find_contacts")
		}
		last := i == len(p.Stages)-1
		switch s.OnTimeout {
		case OnTimeoutEscalate:
			if last {
				v.fail("the last stage cannot escalate: there is no next stage", `use "notify" at the last stage`, "stages", i, "on_timeout")
			}
		case OnTimeoutMediation:
			// checked below, once the partnership stage is known
		case OnTimeoutNotify:
		default:
			v.fail(fmt.Sprintf("unknown action %q", s.OnTimeout), `use "escalate", "mediation" or "notify"`, "stages", i, "on_timeout")
		}
		if s.Partnership {
			partnership++
			if !last {
				v.fail("the partnership stage must be the last stage", "move it to the end or drop partnership: true", "stages", i, "partnership")
			}
		}
	}
	if partnership > 1 {
		v.fail("more than one partnership stage", "mark only the last stage partnership: true", "stages")
	}
	if partnership == 0 && p.OutcomeReportTo != nil {
		v.fail("there is no partnership stage whose outcome could be reported", "remove outcome_report_to or mark the last stage partnership: true", "outcome_report_to")
	}
	v.checkExtras(p)
	for i, s := range p.Stages {
		if s.OnTimeout == OnTimeoutMediation && (partnership == 0 || s.Partnership) {
			v.fail(`"mediation" points nowhere: there is no partnership stage after this one`, "mark the last stage partnership: true or use escalate/notify", "stages", i, "on_timeout")
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (v *validator) optionalTimescale(text string, path ...any) *Timescale {
	if text == "" {
		return nil
	}
	t, err := ParseTimescale(text)
	if err != nil || t.Unit == UnitAgreed {
		v.fail(fmt.Sprintf("%q is not a fixed timescale", text), `write e.g. "5 working days" or "24 hours"`, path...)
		return nil
	}
	return &t
}

func (p *Policy) directoryHasRole(role string) bool {
	for _, d := range p.Directory {
		if d.Role == role {
			return true
		}
	}
	return false
}

// checkExtras validates the optional rules a policy can use.
func (v *validator) checkExtras(p *Policy) {
	switch p.Reminder {
	case "", "half-way", "three-quarters":
	default:
		v.fail(fmt.Sprintf("unknown reminder %q", p.Reminder), `use "half-way", "three-quarters" or leave it out`, "reminder")
	}
	switch p.OutcomeBy {
	case "":
		p.OutcomeBy = OutcomeByPartnership
	case OutcomeByPartnership, OutcomeByParties:
	default:
		v.fail(fmt.Sprintf("unknown outcome_by %q", p.OutcomeBy), `use "partnership" or "parties"`, "outcome_by")
	}
	switch p.DeadlinesAgreedBy {
	case "":
		p.DeadlinesAgreedBy = DeadlinesAgreedByBoth
	case DeadlinesAgreedByBoth, DeadlinesAgreedByEither:
	default:
		v.fail(fmt.Sprintf("unknown deadlines_agreed_by %q", p.DeadlinesAgreedBy),
			`use "both" (one side proposes, the other confirms) or "either" (one side alone), or leave it out for both`, "deadlines_agreed_by")
	}
	for i, o := range p.OutOfScope {
		if !idPattern.MatchString(o.ID) || strings.TrimSpace(o.Label) == "" || strings.TrimSpace(o.Pointer) == "" {
			v.fail("an out-of-scope entry needs an id, a label and a pointer to the right procedure", "fill in id, label and pointer", "out_of_scope", i)
		}
		if _, clash := p.Category(o.ID); clash {
			v.fail(fmt.Sprintf("%q is both a category and out of scope", o.ID), "keep it in one list", "out_of_scope", i, "id")
		}
	}
	for i, cp := range p.CategoryParties {
		if _, ok := p.Category(cp.Category); !ok {
			v.fail(fmt.Sprintf("unknown category %q", cp.Category), "use a category id of this policy", "category_parties", i, "category")
		}
		if cp.FromStage < 1 || cp.FromStage > len(p.Stages) {
			v.fail(fmt.Sprintf("from_stage %d is not a stage", cp.FromStage), fmt.Sprintf("use 1 to %d", len(p.Stages)), "category_parties", i, "from_stage")
		}
		if cp.Name == "" || !strings.Contains(cp.Email, "@") {
			v.fail("a category party needs a name and an email address", "fill in name and email", "category_parties", i)
			continue
		}
		v.checkContact(Contact{Name: cp.Name, Email: cp.Email}, "the category party", "category_parties", i)
	}
	for i, d := range p.Directory {
		if d.Agency == "" || d.Role == "" || !strings.Contains(d.Email, "@") {
			v.fail("a directory entry needs an agency, a role and an email address", "fill in agency, role and email", "directory", i)
			continue
		}
		v.checkContact(Contact{Name: d.Name, Email: d.Email}, "the directory entry", "directory", i)
	}
}

// checkDrill validates a drill file: an id, a reference prefix, the policy
// it drills and one timescale for every stage.
func (v *validator) checkDrill(p *Policy) {
	if !idPattern.MatchString(p.ID) {
		v.fail(fmt.Sprintf("%q is not a policy id", p.ID), "use lower-case letters, digits and hyphens", "id")
	}
	if !prefixPattern.MatchString(p.RefPrefix) {
		v.fail(fmt.Sprintf("%q is not a reference prefix", p.RefPrefix), "use 2 to 10 capital letters or digits, e.g. DRILL", "ref_prefix")
	}
	t, err := ParseTimescale(p.DrillWithin)
	if err != nil || t.Unit == UnitAgreed || t.Unit == UnitWorkingDays {
		v.fail(fmt.Sprintf("drill_within %q is not a clock timescale", p.DrillWithin), `write e.g. "30 seconds"`, "drill_within")
	}
	if len(p.Stages) > 0 || len(p.Categories) > 0 {
		v.fail("a drill takes its stages and categories from drill_of", "remove them from the drill file", "drill_of")
	}
}

// resolveDrills turns each drill file into a copy of the policy it drills
// with every timescale replaced. Drills are resolved in id order, so the
// mistake reported is always the same one.
func (r *Registry) resolveDrills(from map[string]string, drillLine map[string]int) error {
	drills := make([]string, 0, len(drillLine))
	for id := range drillLine {
		drills = append(drills, id)
	}
	sort.Strings(drills)
	var errs []string
	for _, id := range drills {
		d := r.byID[id]
		base, ok := r.byID[d.DrillOf]
		if !ok || base.DrillOf != "" {
			errs = append(errs, fmt.Sprintf("%s line %d: drill_of: %q is not a loaded policy; name an embedded policy or one in POLICY_DIR (not another drill)", from[id], drillLine[id], d.DrillOf))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	for _, id := range drills {
		d := r.byID[id]
		r.byID[id] = Drill(r.byID[d.DrillOf], d.ID, d.RefPrefix, d.DrillWithin)
	}
	return nil
}

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

var (
	yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)
	// keyOnLine finds "key:" (after any "- ") at the start of a line.
	keyOnLine     = regexp.MustCompile(`^\s*(?:-\s+)*([A-Za-z_][A-Za-z0-9_-]*)\s*:`)
	unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
	unknownField  = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	duplicateKey  = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
	cannotDecode  = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `.*`)? into (\\S+)$")
)

// parserProblems are the yaml.v3 parser (not scanner) errors, whose
// reported line is 0-based: it is one less than the line a person counts.
var parserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
	"found undefined tag handle",
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

// structName names the part of a policy a Go type is, for messages.
var structName = map[string]string{
	"policies.Policy": "a policy", "policies.Stage": "a stage", "policies.Step": "a step",
	"policies.Category": "a category", "policies.Agency": "an agency", "policies.Contact": "a contact",
	"policies.OutOfScope": "an out_of_scope entry", "policies.CategoryParty": "a category party",
	"policies.DirectoryEntry": "a directory entry",
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

// Drill copies a policy with every timescale set to within (a clock
// duration such as "30 seconds"), for rehearsals and tests. A drill's
// stages last exactly within, day or night: clock hours never move into
// working time in a drill, whatever the policy says.
func Drill(base Policy, id, prefix, within string) Policy {
	t, _ := ParseTimescale(within)
	p := base
	p.ID, p.RefPrefix, p.Drill, p.DrillOf = id, prefix, true, base.ID
	p.ClockHoursEndInWorkingTime = false
	p.Name = fmt.Sprintf("%s: drill, every stage lasts %s (rehearsals only, not the procedure)", base.Name, within)
	p.Stages = make([]Stage, len(base.Stages))
	for i, s := range base.Stages {
		if s.Timescale.Unit != UnitAgreed {
			s.Within, s.Timescale = within, t
		}
		if s.Default != "" {
			s.Default, s.DefaultTimescale = within, &t
		}
		if s.Maximum != "" {
			s.Maximum, s.MaximumTimescale = within, &t
		}
		if s.UrgentWithin != "" {
			s.UrgentWithin, s.UrgentTimescale = within, &t
		}
		steps := make([]Step, len(s.Steps))
		for j, st := range s.Steps {
			st.Within, st.Timescale = within, t
			steps[j] = st
		}
		s.Steps = steps
		p.Stages[i] = s
	}
	return p
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
