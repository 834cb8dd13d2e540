package policies

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The policy loader's checks: every rule a policy file must keep, each
// mistake reported with its file, line, field and fix.

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
