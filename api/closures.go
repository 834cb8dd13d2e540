package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"escalate/cases"
	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// Partnership closures: POST and GET /v1/admin/policies/{policy}/closures.
// A closure is a one-off non-working day of a partnership (a bank holiday
// for a state occasion): recorded once per policy and date, sent to every
// open case of the policy (workflows.SignalClosure), and part of the
// snapshot of every case that starts later.

type addClosureRequest struct {
	Date   string `json:"date" binding:"required,singleline,max=10"`
	Reason string `json:"reason" binding:"required,notblank,text,max=500"`
}

type closureInfo struct {
	Policy          string    `json:"policy"`
	Date            string    `json:"date"`
	Reason          string    `json:"reason"`
	RecordedBy      string    `json:"recorded_by"`
	RecordedByEmail string    `json:"recorded_by_email"`
	RecordedAt      time.Time `json:"recorded_at"`
}

type addClosureResponse struct {
	closureInfo
	// Created is false when the date was already recorded for the policy:
	// the first record stands and nothing else is recorded.
	Created bool `json:"created"`
	// SentTo are the open cases that were sent the closure; NotSent those
	// Temporal did not accept it for (repeat the request to send it again).
	SentTo  []string `json:"sent_to"`
	NotSent []string `json:"not_sent"`
}

func toClosureInfo(c store.Closure) closureInfo {
	return closureInfo{Policy: c.Policy, Date: c.Date, Reason: c.Reason, RecordedBy: c.RecordedBy,
		RecordedByEmail: c.RecordedByEmail, RecordedAt: c.RecordedAt}
}

// maxClosureAhead is how far ahead a closure may be recorded: further than
// any case's snapshot of bank holidays is sure to reach, and further than a
// partnership knows its closures, is a mistake.
const maxClosureAhead = 2 // years

// closurePolicy is the policy of the route, for those who oversee it (an
// admin, or a partnership person of that policy: the overseers' rule of the
// reports and notifications); anyone else is refused (403) whatever the
// policy, and an unknown policy is 404.
func (s *Server) closurePolicy(c *gin.Context) (policies.Policy, error) {
	id := c.Param("policy")
	if _, err := overseenPolicy(caller(c), id); err != nil {
		return policies.Policy{}, err
	}
	pol, ok := s.policies.Get(id)
	if !ok {
		return policies.Policy{}, errNotFound
	}
	return pol, nil
}

// closureDate checks a closure's date against today in the policy's time
// zone: a real date, not in the past, at most maxClosureAhead years ahead.
func closureDate(pol policies.Policy, date string, now time.Time) error {
	if !policies.IsDate(date) {
		return invalidField("date", "must be a date written yyyy-mm-dd, e.g. 2027-05-10")
	}
	today := cases.LocalNow(pol, now)
	if date < today.Format("2006-01-02") {
		return invalidField("date", "must not be in the past (today is "+today.Format("2006-01-02")+" in the policy's time zone)")
	}
	if last := today.AddDate(maxClosureAhead, 0, 0).Format("2006-01-02"); date > last {
		return invalidField("date", fmt.Sprintf("must be within %d years: no later than %s", maxClosureAhead, last))
	}
	return nil
}

// addClosure records a closure and sends it to every open case of the
// policy. Recording the same date again changes nothing (200 with the first
// record) but sends it again, so a request whose sending was cut short can
// simply be repeated; each case applies a date once.
func (s *Server) addClosure(c *gin.Context) error {
	pol, err := s.closurePolicy(c)
	if err != nil {
		return err
	}
	var req addClosureRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := closureDate(pol, req.Date, s.now()); err != nil {
		return err
	}
	// Temporal first: while it is down nothing is written.
	if err := s.cases.TemporalReachable(s.coreContext(c)); err != nil {
		return err
	}
	ctx := c.Request.Context()
	me := caller(c)
	cl, created, err := s.store.AddClosure(ctx, store.Closure{Policy: pol.ID, Date: req.Date, Reason: strings.TrimSpace(req.Reason),
		RecordedBy: me.Name, RecordedByEmail: me.Email})
	if err != nil {
		return err
	}
	refs, err := s.store.OpenCaseRefsOf(ctx, pol.ID)
	if err != nil {
		return err
	}
	sent, notSent := s.sendClosure(c, refs, workflows.ClosureInput{Date: cl.Date, Reason: cl.Reason,
		By: workflows.Person{Name: cl.RecordedBy, Email: cl.RecordedByEmail}})
	s.log.InfoContext(ctx, "closure recorded", "request_id", requestID(c), "policy", pol.ID, "date", cl.Date,
		"created", created, "by", me.TokenID, "sent", len(sent), "not_sent", len(notSent))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, addClosureResponse{closureInfo: toClosureInfo(cl), Created: created, SentTo: sent, NotSent: notSent})
	return nil
}

// sendClosure sends a closure to each case (the core's rule).
func (s *Server) sendClosure(c *gin.Context, refs []string, in workflows.ClosureInput) (sent, notSent []string) {
	return s.cases.SendClosure(s.coreContext(c), refs, in)
}

// listClosures lists a policy's recorded closures, by date.
func (s *Server) listClosures(c *gin.Context) error {
	pol, err := s.closurePolicy(c)
	if err != nil {
		return err
	}
	cs, err := s.store.Closures(c.Request.Context(), pol.ID, "")
	if err != nil {
		return err
	}
	out := make([]closureInfo, 0, len(cs))
	for _, cl := range cs {
		out = append(out, toClosureInfo(cl))
	}
	c.JSON(http.StatusOK, gin.H{"closures": out})
	return nil
}
