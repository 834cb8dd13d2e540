// Package policies holds each partnership's escalation procedure as data:
// its stages, timescales, categories and directory, and the pure deadline
// arithmetic that turns a timescale into a due time.
package policies

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// OnTimeout actions: what happens when a stage's deadline passes unresolved.
const (
	OnTimeoutEscalate  = "escalate"
	OnTimeoutMediation = "mediation"
	OnTimeoutNotify    = "notify"
)

// Policy is one partnership's procedure. It is snapshotted into every case's
// workflow input when the case starts, so later edits never touch a running
// case. Fields may be added, never renamed.
type Policy struct {
	ID        string `yaml:"id" json:"id"`
	Name      string `yaml:"name" json:"name"`
	RefPrefix string `yaml:"ref_prefix" json:"ref_prefix"`
	// Source names the document the policy implements.
	Source     string `yaml:"source" json:"source"`
	SourceFile string `yaml:"source_file" json:"source_file,omitempty"`
	Calendar   string `yaml:"calendar" json:"calendar"`
	Timezone   string `yaml:"timezone" json:"timezone"`
	EndOfDay   string `yaml:"end_of_day" json:"end_of_day"`
	// StartOfDay is the local time a working day starts ("09:00" when
	// absent); it matters only to ClockHoursEndInWorkingTime.
	StartOfDay string `yaml:"start_of_day" json:"start_of_day,omitempty"`
	// ClockHoursEndInWorkingTime is the partnership's choice that a deadline
	// of "N hours" or "N minutes" falling outside working time (a weekend, a
	// bank holiday or closure, or outside start_of_day to end_of_day) moves
	// to the start of the next working day. Off when absent, so a snapshot
	// taken before the field existed computes its deadlines as it always
	// did. "N seconds" (drills) never moves.
	ClockHoursEndInWorkingTime bool `yaml:"clock_hours_end_in_working_time" json:"clock_hours_end_in_working_time,omitempty"`
	// Closures are extra non-working dates (yyyy-mm-dd) of the partnership.
	Closures []string `yaml:"closures" json:"closures,omitempty"`
	// Holidays are the bank holidays of Calendar resolved into dates, set
	// only in a case's snapshot (Snapshot), never in a policy file: when
	// set, the case counts working days with them and not with the named
	// calendar. A snapshot taken before they existed has none and uses
	// the name, as it always did.
	Holidays     *Holidays `yaml:"-" json:"holidays,omitempty"`
	SafetyNotice string    `yaml:"safety_notice" json:"safety_notice"`
	// BusinessOffice is told when a case reaches the partnership stage.
	BusinessOffice Contact `yaml:"business_office" json:"business_office"`
	// LearningTo is the mailbox told that learning was recorded on a case
	// (with an agreement or a partnership outcome), where the document says
	// learning goes somewhere: four-stage's Learning Group, Northamptonshire's
	// Business Office. Optional.
	LearningTo *Contact `yaml:"learning_to" json:"learning_to,omitempty"`
	// OutcomeReportTo is the mailbox the partnership stage's recorded outcome
	// is reported to, where the document says so: four-stage's Safeguarding
	// Children Board Chair. Optional; only in a policy with a partnership
	// stage.
	OutcomeReportTo *Contact   `yaml:"outcome_report_to" json:"outcome_report_to,omitempty"`
	Categories      []Category `yaml:"categories" json:"categories"`
	Agencies        []Agency   `yaml:"agencies" json:"agencies"`
	Stages          []Stage    `yaml:"stages" json:"stages"`
	// PartnershipSettings says which figures and rules are the partnership's
	// own settings rather than the source document's.
	PartnershipSettings []string `yaml:"partnership_settings" json:"partnership_settings,omitempty"`
	// Drill marks a policy whose stages last seconds, for rehearsals and tests.
	Drill bool `yaml:"drill" json:"drill,omitempty"`
	// DrillOf makes this file a drill of another policy: a copy of it with
	// every timescale replaced by DrillWithin.
	DrillOf     string `yaml:"drill_of" json:"drill_of,omitempty"`
	DrillWithin string `yaml:"drill_within" json:"-"`

	// Reminder is when the current stage's people are reminded before its
	// deadline, as a fraction of the stage ("half-way") or empty for none.
	Reminder string `yaml:"reminder" json:"reminder,omitempty"`
	// OutOfScope categories are refused at start with a pointer elsewhere.
	OutOfScope []OutOfScope `yaml:"out_of_scope" json:"out_of_scope,omitempty"`
	// CategoryParties join cases of a category from a stage on.
	CategoryParties []CategoryParty `yaml:"category_parties" json:"category_parties,omitempty"`
	// Directory is the escalation-contacts table (agency, role, contact).
	Directory []DirectoryEntry `yaml:"directory" json:"directory,omitempty"`
	// OutcomeBy says whose decision the partnership stage's outcome records:
	// "partnership" (default) or "parties" (the partnership never decides).
	OutcomeBy string `yaml:"outcome_by" json:"outcome_by"`
	// DeadlinesAgreedBy says who agrees a stage's shorter (or, where agreed
	// per case, any) deadline: "both" (the default the loader sets) means one
	// side proposes and the other side confirms before it takes effect;
	// "either" lets one side agree it alone. Empty only in a snapshot taken
	// before the field existed, which keeps one side agreeing alone, as
	// such cases always did (DeadlinesNeedBothSides).
	DeadlinesAgreedBy string `yaml:"deadlines_agreed_by" json:"deadlines_agreed_by,omitempty"`
}

// Who agrees a deadline.
const (
	DeadlinesAgreedByBoth   = "both"
	DeadlinesAgreedByEither = "either"
)

// DeadlinesNeedBothSides reports whether an agreed deadline takes effect
// only once the other side confirms it.
func (p Policy) DeadlinesNeedBothSides() bool {
	return p.DeadlinesAgreedBy == DeadlinesAgreedByBoth
}

// ReminderFraction is how far through a stage the reminder goes, or 0.
func (p Policy) ReminderFraction() float64 {
	switch p.Reminder {
	case "half-way":
		return 0.5
	case "three-quarters":
		return 0.75
	}
	return 0
}

// OutOfScopeCategory returns the out-of-scope entry with the given id.
func (p Policy) OutOfScopeCategory(id string) (OutOfScope, bool) {
	for _, o := range p.OutOfScope {
		if o.ID == id {
			return o, true
		}
	}
	return OutOfScope{}, false
}

// Contact is a named mailbox.
type Contact struct {
	Name  string `yaml:"name" json:"name"`
	Email string `yaml:"email" json:"email"`
}

// Category is an area of disagreement the procedure lists.
type Category struct {
	ID    string `yaml:"id" json:"id"`
	Label string `yaml:"label" json:"label"`
	// NeedsDetail: a case with this category says what the disagreement is
	// about in category_detail (CheckDetail). Every policy has exactly one
	// such category, CategoryOther.
	NeedsDetail bool `yaml:"needs_detail" json:"needs_detail"`
}

// CategoryOther is the category every policy has for a disagreement its
// list does not name: every document's list is only examples.
const CategoryOther = "other"

// CategoryDetailMaxChars is the most characters a category_detail may have.
const CategoryDetailMaxChars = 200

// CheckDetail checks a case's category_detail against its category: a
// category that needs a detail takes one line of 1 to 200 characters (no
// control characters, not even a newline: it is shown wherever the category
// is, mail subjects included); any other category takes none. The error is
// a sentence for the person who wrote the detail.
func (c Category) CheckDetail(detail string) error {
	if !c.NeedsDetail {
		if detail != "" {
			return fmt.Errorf("category %q takes no category_detail; only %q does", c.ID, CategoryOther)
		}
		return nil
	}
	if !utf8.ValidString(detail) {
		return errors.New("category_detail is not valid UTF-8")
	}
	if strings.TrimSpace(detail) == "" {
		return fmt.Errorf("category %q needs category_detail: say in 1 to %d characters what the disagreement is about", c.ID, CategoryDetailMaxChars)
	}
	if n := utf8.RuneCountInString(detail); n > CategoryDetailMaxChars {
		return fmt.Errorf("category_detail has %d characters; write at most %d", n, CategoryDetailMaxChars)
	}
	for _, r := range detail {
		if unicode.IsControl(r) {
			return errors.New("category_detail is one line: no line breaks, tabs or other control characters")
		}
	}
	return nil
}

// Shown is how a case's category reads wherever it is shown (the record,
// the opening event): the label, and for a category that needs a detail,
// its name without the "(describe)" instruction and the detail after it:
// "Other: Respite care arrangements".
func (c Category) Shown(detail string) string {
	detail = strings.TrimSpace(detail)
	if !c.NeedsDetail || detail == "" {
		return c.Label
	}
	name := c.Label
	if i := strings.LastIndex(name, " ("); i > 0 && strings.HasSuffix(name, ")") {
		name = name[:i]
	}
	return name + ": " + detail
}

// Agency is an organisation of the partnership's directory.
type Agency struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
	// EscalationContact is the agency's safeguarding lead or duty manager
	// mailbox: who acts for a side of this agency at a stage where people
	// above the practitioners act (UsesEscalationContacts) when that side
	// has named nobody. Required by the loader; nil in a snapshot taken
	// before the field existed.
	EscalationContact *Contact `yaml:"escalation_contact" json:"escalation_contact,omitempty"`
}

// Stage is one rung of the ladder.
type Stage struct {
	Number int    `yaml:"number" json:"number"`
	Name   string `yaml:"name" json:"name"`
	Who    string `yaml:"who" json:"who"`
	// Within is the timescale as written in the policy file.
	Within string `yaml:"within" json:"within"`
	// AsWritten is the timescale in the source document's own words.
	AsWritten        string    `yaml:"as_written" json:"as_written,omitempty"`
	OnTimeout        string    `yaml:"on_timeout" json:"on_timeout"`
	EvidenceRequired bool      `yaml:"evidence_required" json:"evidence_required"`
	Partnership      bool      `yaml:"partnership" json:"partnership"`
	Timescale        Timescale `yaml:"-" json:"timescale"`

	// Default is the partnership's timescale for an "agreed per case" stage
	// when no deadline has been agreed; Maximum (optional) bounds agreed ones.
	Default          string     `yaml:"default" json:"default,omitempty"`
	DefaultTimescale *Timescale `yaml:"-" json:"default_timescale,omitempty"`
	Maximum          string     `yaml:"maximum" json:"maximum,omitempty"`
	MaximumTimescale *Timescale `yaml:"-" json:"maximum_timescale,omitempty"`
	// UrgentWithin is the stage's timescale for urgent cases.
	UrgentWithin    string     `yaml:"urgent_within" json:"urgent_within,omitempty"`
	UrgentTimescale *Timescale `yaml:"-" json:"urgent_timescale,omitempty"`
	// Steps split a stage into parts run in order, each with its own people
	// and timescale; the stage's on_timeout acts after the last one.
	Steps []Step `yaml:"steps" json:"steps,omitempty"`
	// Repeat: the stage repeats level by level up the management structure,
	// each level a fresh timescale (escalate with next_level).
	Repeat bool `yaml:"repeat" json:"repeat,omitempty"`
	// Meeting names the meeting this stage may hold (e.g. a resolution
	// meeting), recorded with POST /v1/cases/{ref}/meetings.
	Meeting string `yaml:"meeting" json:"meeting,omitempty"`
	// FacilitatorRole is what the record calls the meeting's facilitator
	// (e.g. "Mediator"); empty means "Restorative facilitator".
	FacilitatorRole string `yaml:"facilitator_role" json:"facilitator_role,omitempty"`
	// FacilitatorIndependent: the meeting's facilitator must not be
	// involved in the case (not the raiser, the respondent, a contact of
	// either side or an adviser); one who is is refused.
	FacilitatorIndependent bool `yaml:"facilitator_independent" json:"facilitator_independent,omitempty"`
	// OutcomeAfterMeeting: the stage's outcome is recorded only once its
	// meeting is recorded as held, or as offered and declined
	// (Northamptonshire stage 5: a Strategic Lead offers mediation).
	OutcomeAfterMeeting bool `yaml:"outcome_after_meeting" json:"outcome_after_meeting,omitempty"`
	// Review: on entry the partnership checks the earlier stages were
	// followed, and either confirms or sends the case back to one.
	Review bool `yaml:"review" json:"review,omitempty"`
	// NotifyRoles are the directory roles of both agencies told at this stage.
	NotifyRoles []string `yaml:"notify_roles" json:"notify_roles,omitempty"`
	// OfficeHelpsFindContacts: on entry to this stage, for a side whose
	// agency has no directory entry for one of NotifyRoles (MissingContacts),
	// the business office is asked to help find that organisation's
	// contact. It helps; it never decides the case.
	OfficeHelpsFindContacts bool `yaml:"office_helps_find_contacts" json:"office_helps_find_contacts,omitempty"`
	// RecordCaseReview: the outcome here records whether a multi-agency case
	// review was considered.
	RecordCaseReview bool `yaml:"record_case_review" json:"record_case_review,omitempty"`
}

// Step is one part of a stage.
type Step struct {
	Name      string    `yaml:"name" json:"name"`
	Who       string    `yaml:"who" json:"who"`
	Within    string    `yaml:"within" json:"within"`
	AsWritten string    `yaml:"as_written" json:"as_written,omitempty"`
	Timescale Timescale `yaml:"-" json:"timescale"`
}

// OutOfScope is a kind of disagreement the procedure does not cover.
type OutOfScope struct {
	ID      string `yaml:"id" json:"id"`
	Label   string `yaml:"label" json:"label"`
	Pointer string `yaml:"pointer" json:"pointer"`
}

// CategoryParty joins a case of a category as a party from a stage on.
type CategoryParty struct {
	Category  string `yaml:"category" json:"category"`
	FromStage int    `yaml:"from_stage" json:"from_stage"`
	Name      string `yaml:"name" json:"name"`
	Email     string `yaml:"email" json:"email"`
	Role      string `yaml:"role" json:"role"`
}

// DirectoryEntry is one row of an escalation-contacts table: who holds a
// role in an agency.
type DirectoryEntry struct {
	Agency string `yaml:"agency" json:"agency"`
	Role   string `yaml:"role" json:"role"`
	Name   string `yaml:"name" json:"name"`
	Email  string `yaml:"email" json:"email"`
}

// Outcome deciders.
const (
	OutcomeByPartnership = "partnership"
	OutcomeByParties     = "parties"
)

// Clock returns the policy's working-day clock. Policies are validated at
// load, so an error here means a hand-built policy.
func (p Policy) Clock() (Clock, error) {
	newClock := NewClock
	if p.Holidays != nil {
		// The snapshot's dates stand on their own: the calendar they were
		// resolved from need not be known to this code any more.
		newClock = clockOf
	}
	c, err := newClock(p.Calendar, p.Timezone, p.EndOfDay)
	if err != nil {
		return Clock{}, err
	}
	c.Holidays = p.Holidays
	if c.StartOfDay, err = parseStartOfDay(p.StartOfDay); err != nil {
		return Clock{}, err
	}
	c.Closures = p.Closures
	c.ClockHoursEndInWorkingTime = p.ClockHoursEndInWorkingTime
	return c, nil
}

// Stage returns the stage with the given number.
func (p Policy) Stage(n int) (Stage, bool) {
	for _, s := range p.Stages {
		if s.Number == n {
			return s, true
		}
	}
	return Stage{}, false
}

// LastStage is the number of the last stage.
func (p Policy) LastStage() int { return p.Stages[len(p.Stages)-1].Number }

// PartnershipStage is the number of the partnership stage, or 0.
func (p Policy) PartnershipStage() int {
	for _, s := range p.Stages {
		if s.Partnership {
			return s.Number
		}
	}
	return 0
}

// Agency returns the agency of the directory with the given id.
func (p Policy) Agency(id string) (Agency, bool) {
	for _, a := range p.Agencies {
		if a.ID == id {
			return a, true
		}
	}
	return Agency{}, false
}

// EscalationContact is the escalation contact of the agency with the given
// id, or ok false when the agency is not in the directory (a free-text
// agency) or the policy snapshot predates escalation contacts.
func (p Policy) EscalationContact(agency string) (c Contact, ok bool) {
	a, found := p.Agency(agency)
	if !found || a.EscalationContact == nil || a.EscalationContact.Email == "" {
		return Contact{}, false
	}
	return *a.EscalationContact, true
}

// MissingContacts are the roles stage n asks for (NotifyRoles) that the
// directory has no entry for in the given agency: the contacts a side of
// that agency has to find, with the business office's help where the stage
// says OfficeHelpsFindContacts.
func (p Policy) MissingContacts(n int, agency string) []string {
	s, ok := p.Stage(n)
	if !ok {
		return nil
	}
	var missing []string
	for _, role := range s.NotifyRoles {
		found := false
		for _, d := range p.Directory {
			found = found || (d.Agency == agency && d.Role == role)
		}
		if !found {
			missing = append(missing, role)
		}
	}
	return missing
}

// UsesEscalationContacts reports whether at stage n (and step, 1-based, of
// a stage with steps; 0 otherwise) each side is represented by someone above
// the practitioners, so that a side which has named nobody falls back to its
// agency's escalation contact: every stage and step after the first, except
// the partnership stage, whose people are the partnership's. The first is
// the practitioners' own.
func (p Policy) UsesEscalationContacts(n, step int) bool {
	s, ok := p.Stage(n)
	if !ok || s.Partnership {
		return false
	}
	if n == p.Stages[0].Number {
		return len(s.Steps) > 0 && step > 1
	}
	return true
}

// Category returns the category with the given id.
func (p Policy) Category(id string) (Category, bool) {
	for _, c := range p.Categories {
		if c.ID == id {
			return c, true
		}
	}
	return Category{}, false
}

// StepTimescale is the timescale that applies to step (1-based; 0 or a
// stage without steps means the stage itself) of a case, urgent or not:
// the urgent timescale if the case is urgent and the stage has one, else
// the step's, else the stage's (for "agreed per case", the default).
func (s Stage) StepTimescale(step int, urgent bool) Timescale {
	if urgent && s.UrgentTimescale != nil {
		return *s.UrgentTimescale
	}
	if step >= 1 && step <= len(s.Steps) {
		return s.Steps[step-1].Timescale
	}
	if s.Timescale.Unit == UnitAgreed && s.DefaultTimescale != nil {
		return *s.DefaultTimescale
	}
	return s.Timescale
}

// MaxDue is the latest deadline that may be agreed for a stage step that
// started at start, or ok false when the policy sets no maximum.
func (p Policy) MaxDue(n, step int, urgent bool, start time.Time) (due time.Time, ok bool, err error) {
	s, found := p.Stage(n)
	if !found {
		return time.Time{}, false, fmt.Errorf("policy %s has no stage %d", p.ID, n)
	}
	c, err := p.Clock()
	if err != nil {
		return time.Time{}, false, err
	}
	ts := s.StepTimescale(step, urgent)
	if s.Timescale.Unit == UnitAgreed {
		if s.MaximumTimescale == nil {
			return time.Time{}, false, nil
		}
		ts = *s.MaximumTimescale
	}
	due, err = ts.DueAt(start, c)
	return due, err == nil, err
}

// StageDue is the maximum deadline of stage n (its first step) started at
// start for a case that is not urgent.
func (p Policy) StageDue(n int, start time.Time) (time.Time, error) {
	s, ok := p.Stage(n)
	if !ok {
		return time.Time{}, fmt.Errorf("policy %s has no stage %d", p.ID, n)
	}
	c, err := p.Clock()
	if err != nil {
		return time.Time{}, err
	}
	step := 0
	if len(s.Steps) > 0 {
		step = 1
	}
	return s.StepTimescale(step, false).DueAt(start, c)
}
