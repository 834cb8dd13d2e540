// Package policies holds each partnership's escalation procedure as data:
// its stages, timescales, categories and directory, and the pure deadline
// arithmetic that turns a timescale into a due time.
package policies

import (
	"fmt"
	"time"
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
	// Closures are extra non-working dates (yyyy-mm-dd) of the partnership.
	Closures     []string `yaml:"closures" json:"closures,omitempty"`
	SafetyNotice string   `yaml:"safety_notice" json:"safety_notice"`
	// BusinessOffice is told when a case reaches the partnership stage.
	BusinessOffice Contact    `yaml:"business_office" json:"business_office"`
	Categories     []Category `yaml:"categories" json:"categories"`
	Agencies       []Agency   `yaml:"agencies" json:"agencies"`
	Stages         []Stage    `yaml:"stages" json:"stages"`
	// PartnershipSettings says which figures and rules are the partnership's
	// own settings rather than the source document's.
	PartnershipSettings []string `yaml:"partnership_settings" json:"partnership_settings,omitempty"`
	// Drill marks a policy whose stages last seconds, for rehearsals and tests.
	Drill bool `yaml:"drill" json:"drill,omitempty"`
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
}

// Agency is an organisation of the partnership's directory.
type Agency struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
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
}

// Clock returns the policy's working-day clock. Policies are validated at
// load, so an error here means a hand-built policy.
func (p Policy) Clock() (Clock, error) {
	c, err := NewClock(p.Calendar, p.Timezone, p.EndOfDay)
	if err != nil {
		return Clock{}, err
	}
	c.Closures = p.Closures
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

// Category returns the category with the given id.
func (p Policy) Category(id string) (Category, bool) {
	for _, c := range p.Categories {
		if c.ID == id {
			return c, true
		}
	}
	return Category{}, false
}

// StageDue is the maximum deadline of stage n started at start.
func (p Policy) StageDue(n int, start time.Time) (time.Time, error) {
	s, ok := p.Stage(n)
	if !ok {
		return time.Time{}, fmt.Errorf("policy %s has no stage %d", p.ID, n)
	}
	c, err := p.Clock()
	if err != nil {
		return time.Time{}, err
	}
	return s.Timescale.DueAt(start, c)
}
