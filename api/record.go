package api

import (
	_ "embed"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"escalate/store"
	"escalate/workflows"
)

type recordResponse struct {
	Ref          string              `json:"ref"`
	Events       []store.RecordEntry `json:"events"`
	Verification store.Verification  `json:"verification"`
}

// getRecord returns the case's written record with the verification of its
// hash chain.
func (s *Server) getRecord(c *gin.Context) error {
	cs, err := s.loadCase(c, canRead)
	if err != nil {
		return err
	}
	entries, v, err := s.store.Record(c.Request.Context(), cs.Ref)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, recordResponse{Ref: cs.Ref, Events: entries, Verification: v})
	return nil
}

//go:embed record.html.tmpl
var recordHTML string

var recordTemplate = template.Must(template.New("record").Funcs(template.FuncMap{
	"when": func(t time.Time, loc *time.Location) string { return t.In(loc).Format("Mon 2 Jan 2006, 15:04 MST") },
	"label": func(s string) string {
		return strings.ToUpper(s[:1]) + strings.ReplaceAll(s[1:], "_", " ")
	},
}).Parse(recordHTML))

type recordPage struct {
	Case         workflows.Case
	Policy       string
	Category     string
	Loc          *time.Location
	Stages       []stageRow
	Verification store.Verification
	Printed      time.Time
}

type stageRow struct {
	Number  int
	Name    string
	Started time.Time
	Text    string
}

// getRecordHTML renders the written record as a page a manager can print or
// attach to the child's file.
func (s *Server) getRecordHTML(c *gin.Context) error {
	cs, err := s.loadCase(c, canRead)
	if err != nil {
		return err
	}
	_, v, err := s.store.Record(c.Request.Context(), cs.Ref)
	if err != nil {
		return err
	}
	page := recordPage{Case: cs, Policy: cs.Policy, Category: cs.Category, Loc: time.UTC, Verification: v, Printed: s.now()}
	if p, ok := s.policies.Get(cs.Policy); ok {
		page.Policy = p.Name
		if cat, ok := p.Category(cs.Category); ok {
			page.Category = cat.Label
		}
		if clock, err := p.Clock(); err == nil {
			page.Loc = clock.Location
		}
	}
	for _, e := range cs.History {
		if e.Type == workflows.EventStageEntered || e.Type == workflows.EventStepEntered {
			page.Stages = append(page.Stages, stageRow{Number: e.Stage, Started: e.At, Text: e.Text})
		}
	}
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	return recordTemplate.Execute(c.Writer, page)
}
