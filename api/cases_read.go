package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"escalate/store"
	"escalate/workflows"
)

// Reading cases: GET /v1/cases/{ref} and GET /v1/cases.

func (s *Server) getCase(c *gin.Context) error {
	cs, err := s.loadCase(c, canRead)
	if err != nil {
		return err
	}
	d, err := s.store.Deliveries(c.Request.Context(), cs.Ref)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, caseResponse{Case: cs, Notifications: &d})
	return nil
}

// caseResponse is a Case with how its notifications went: counts by status
// and the ones that failed for good, so a party can see who was not told.
type caseResponse struct {
	workflows.Case
	Notifications *store.DeliverySummary `json:"notifications,omitempty"`
}

// loadCase reads the case and applies the access rule (the core's). A case
// the caller may not see is a 404, so references cannot be probed.
func (s *Server) loadCase(c *gin.Context, allowed func(principal, workflows.Case) bool) (workflows.Case, error) {
	return s.cases.Load(s.coreContext(c), caller(c), c.Param("ref"), allowed)
}

type listCasesQuery struct {
	Status  string `form:"status" binding:"omitempty,singleline,oneof=open agreement_proposed resolved withdrawn unresolved cancelled"`
	Policy  string `form:"policy" binding:"singleline,max=64"`
	Stage   int    `form:"stage" binding:"min=0,max=99"`
	Agency  string `form:"agency" binding:"singleline,max=200"`
	Overdue *bool  `form:"overdue"`
	Limit   *int   `form:"limit" binding:"omitempty,min=1,max=200"`
	Cursor  string `form:"cursor" binding:"singleline,max=200"`
}

type listCasesResponse struct {
	Cases      []workflows.Case `json:"cases"`
	NextCursor *string          `json:"next_cursor"`
}

func (s *Server) listCases(c *gin.Context) error {
	var q listCasesQuery
	if err := bindQuery(c, &q); err != nil {
		return err
	}
	f := store.ListFilter{Status: q.Status, Policy: q.Policy, Stage: q.Stage, Agency: q.Agency, Overdue: q.Overdue}
	if q.Limit != nil {
		f.Limit = *q.Limit
	}
	if q.Cursor != "" {
		created, ref, ok := decodeCursor(q.Cursor)
		if !ok {
			return invalidField("cursor", "not a cursor this API returned")
		}
		f.AfterCreated, f.AfterRef = created, ref
	}
	cases, more, err := s.store.ListCases(c.Request.Context(), viewer(caller(c)), f)
	if err != nil {
		return err
	}
	resp := listCasesResponse{Cases: cases}
	if resp.Cases == nil {
		resp.Cases = []workflows.Case{}
	}
	if more {
		last := cases[len(cases)-1]
		cur := encodeCursor(last.CreatedAt, last.Ref)
		resp.NextCursor = &cur
	}
	c.JSON(http.StatusOK, resp)
	return nil
}

func encodeCursor(t time.Time, ref string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMicro(), 10) + "|" + ref))
}

func decodeCursor(s string) (time.Time, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", false
	}
	ts, ref, ok := strings.Cut(string(b), "|")
	if !ok || !refPattern.MatchString(ref) {
		return time.Time{}, "", false
	}
	us, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, "", false
	}
	return time.UnixMicro(us), ref, true
}
