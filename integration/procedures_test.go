package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"escalate/workflows"
)

// Each procedure's drill, through the API: the case climbs every stage (and
// step) by itself, and the last stage closes it the procedure's way.
func TestEveryProcedureDrill(t *testing.T) {
	s := startSystem(t)
	admin := adminToken
	raiser := s.token("Hana Visitor", "hana@nhft.example", "schools", "practitioner")
	respondent := s.token("Sam Social", "sam@nct.example", "nottingham-city-csc", "practitioner")

	var eb errorBody
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{
		"policy": "four-stage-fastdrill", "child_ref": "X1", "category": "icpc-convening", "summary": "s",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"},
	}, &eb); code != http.StatusUnprocessableEntity || !strings.Contains(eb.Error.Message, "child protection conference") {
		t.Fatalf("ICPC disagreement: %d %+v", code, eb)
	}

	for _, tc := range []struct {
		policy, category string
		// path of (stage, step) the drill must show, in order
		path  string
		close func(t *testing.T, ref, partnership string)
	}{
		// Northamptonshire stage 5: "one of the Strategic Leads will offer
		// mediation": the outcome follows the recorded mediation (409 before).
		{"northamptonshire-fastdrill", "communication", "1.0 2.0 3.1 4.0 5.0", func(t *testing.T, ref, p string) {
			var eb errorBody
			if code := s.call("POST", "/v1/cases/"+ref+"/outcome", p, map[string]any{"resolved": true, "outcome": "x"}, &eb); code != http.StatusConflict {
				t.Errorf("outcome before the mediation: %d %+v, want 409", code, eb)
			}
			var c workflows.Case
			if code := s.call("POST", "/v1/cases/"+ref+"/meetings", p, map[string]any{"at": "2026-12-03T10:00:00Z", "purpose": "Mediation",
				"facilitator": map[string]string{"name": "Sol Strategic", "email": "sol@nscp.example"}}, &c); code != 200 || len(c.Meetings) != 1 {
				t.Fatalf("mediation: %d %+v", code, c.Meetings)
			}
			s.outcome(t, ref, p, map[string]any{"resolved": true, "outcome": "Mediated by a Strategic Lead"}, workflows.StatusResolved)
		}},
		// Nottingham has two stages, the practitioners and Stage Two (level
		// 1 of a repeating stage), and no partnership decision
		// (nottingham-nottinghamshire-escalating-for-the-right-outcome.txt):
		// the partnership cannot record an outcome; the raiser withdraws.
		{"nottingham-nottinghamshire-fastdrill", "thresholds", "1.0 2.1", func(t *testing.T, ref, p string) {
			var c workflows.Case
			s.call("GET", "/v1/cases/"+ref, p, nil, &c)
			found := false
			for _, ct := range c.Contacts {
				found = found || ct.Email == "safeguarding.lead@city-csc.example.org"
			}
			if !found {
				t.Errorf("stage two did not bring in the respondent's safeguarding lead: %+v", c.Contacts)
			}
			var eb errorBody
			if code := s.call("POST", "/v1/cases/"+ref+"/outcome", p, map[string]any{"resolved": false, "outcome": "No agreement"}, &eb); code != http.StatusConflict {
				t.Errorf("partnership outcome in Nottingham: %d %+v, want 409", code, eb)
			}
			if code := s.call("POST", "/v1/cases/"+ref+"/withdrawal", raiser, map[string]any{"reason": "Agreed by phone"}, &c); code != 200 || c.Status != workflows.StatusWithdrawn {
				t.Fatalf("withdrawal: %d %s", code, c.Status)
			}
		}},
		{"devon-fastdrill", "provision-of-services", "1.0 2.0 3.0 4.0 5.0", func(t *testing.T, ref, p string) {
			var c workflows.Case
			if code := s.call("POST", "/v1/cases/"+ref+"/review", p, map[string]any{"followed": true, "next_steps": "Business Group"}, &c); code != 200 || c.Stage.Phase != workflows.PhaseAwaitingBusinessGroup {
				t.Fatalf("review: %d %+v", code, c.Stage)
			}
			if code := s.call("POST", "/v1/cases/"+ref+"/meetings", p, map[string]any{"at": "2026-12-03T10:00:00Z",
				"facilitator": map[string]string{"name": "Fay", "email": "fay@devon.example"}}, &c); code != 200 || len(c.Meetings) != 1 {
				t.Fatalf("meeting: %d %+v", code, c.Meetings)
			}
			// "no-one from the Business Group, including the chair can be a
			// case decision-maker": never resolved by the partnership (422);
			// its recommendations close the case unresolved.
			var eb errorBody
			if code := s.call("POST", "/v1/cases/"+ref+"/outcome", p, map[string]any{"resolved": true, "outcome": "Joint visit agreed"}, &eb); code != http.StatusUnprocessableEntity {
				t.Errorf("the Business Group decides: %d %+v, want 422", code, eb)
			}
			c = s.outcome(t, ref, p, map[string]any{"resolved": false, "outcome": "Recommends a joint visit"}, workflows.StatusUnresolved)
			if c.DecidedBy != "parties" || c.Recommendations != "Recommends a joint visit" {
				t.Errorf("decided_by %q recommendations %q", c.DecidedBy, c.Recommendations)
			}
		}},
		{"four-stage-fastdrill", "threshold-csc-assessment", "1.1 1.2 2.0 3.0 4.0", func(t *testing.T, ref, p string) {
			var eb errorBody
			if code := s.call("POST", "/v1/cases/"+ref+"/outcome", p, map[string]any{"resolved": false, "outcome": "x"}, &eb); code != 422 {
				t.Errorf("outcome without case_review_considered: %d", code)
			}
			c := s.outcome(t, ref, p, map[string]any{"resolved": false, "outcome": "Board chair told", "case_review_considered": true,
				"learning": "Thresholds training"}, workflows.StatusUnresolved)
			if len(c.Advisers) != 1 || c.CaseReviewConsidered == nil || !*c.CaseReviewConsidered {
				t.Errorf("advisers %+v review %v", c.Advisers, c.CaseReviewConsidered)
			}
		}},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			t.Parallel()
			base := strings.TrimSuffix(tc.policy, "-fastdrill")
			partnership := s.token("Pat Lead", "pat@"+base+".example", tc.policy, "partnership")
			var c workflows.Case
			if code := s.call("POST", "/v1/cases", raiser, map[string]any{
				"policy": tc.policy, "child_ref": "DRILL/1", "category": tc.category, "summary": "Drill",
				"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nottingham-city-csc"},
			}, &c); code != http.StatusCreated {
				t.Fatalf("create: %d", code)
			}
			var seen []string
			last := tc.path[strings.LastIndex(tc.path, " ")+1:]
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) {
				var cur workflows.Case
				if code := s.call("GET", "/v1/cases/"+c.Ref, respondent, nil, &cur); code != 200 {
					t.Fatalf("poll: %d", code)
				}
				pos := fmt.Sprintf("%d.%d", cur.Stage.Number, cur.Stage.Step)
				if cur.Stage.Level > 0 {
					pos = fmt.Sprintf("%d.%d", cur.Stage.Number, cur.Stage.Level)
				}
				if len(seen) == 0 || seen[len(seen)-1] != pos {
					seen = append(seen, pos)
				}
				if pos == last && (cur.Stage.Overdue || cur.Stage.Phase != "") {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if got := strings.Join(seen, " "); got != tc.path {
				t.Fatalf("path %s, want %s", got, tc.path)
			}
			if code := s.call("GET", "/v1/policies/"+tc.policy, admin, nil, nil); code != 200 {
				t.Errorf("policy: %d", code)
			}
			tc.close(t, c.Ref, partnership)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.temporal.GetWorkflow(ctx, c.Ref, "").Get(ctx, nil); err != nil {
				t.Fatalf("workflow did not complete: %v", err)
			}
			recordHistory(t, s.temporal, c.Ref, base+"-drill")
		})
	}
}

// outcome records the partnership outcome and checks the status.
func (s *system) outcome(t *testing.T, ref, token string, body map[string]any, status string) workflows.Case {
	t.Helper()
	var c workflows.Case
	if code := s.call("POST", "/v1/cases/"+ref+"/outcome", token, body, &c); code != 200 || c.Status != status {
		t.Fatalf("outcome: %d %s, want 200 %s", code, c.Status, status)
	}
	return c
}

// The real Devon policy (working-day deadlines, so nothing times out during
// the test): an urgent case skips to the Case Resolution Protocol, is sent
// back to stage 2, agrees a shorter deadline there (one side proposes, the
// other confirms), and ends in a two-party agreement at stage 2.
func TestUrgentSkipSendBackDeadlineAgreement(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "education", "practitioner")
	respondent := s.token("Sam Social", "sam@nct.example", "devon-csc", "practitioner")
	partnership := s.token("Devon SCP Manager", "manager@devon.example", "devon", "partnership")
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{
		"policy": "devon", "child_ref": "DEV/9", "category": "step-up-down-closure", "summary": "Case closed too early", "urgent": true,
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "devon-csc"},
	}, &c); code != http.StatusCreated || !c.Urgent {
		t.Fatalf("create: %d urgent %v", code, c.Urgent)
	}
	path := "/v1/cases/" + c.Ref
	steps := []struct {
		who, route string
		body       map[string]any
		check      func(workflows.Case) bool
	}{
		{raiser, "/escalations", map[string]any{"reason": "Child at risk this week", "evidence": "Manager on leave", "to_stage": 5},
			func(c workflows.Case) bool {
				return c.Stage.Number == 5 && c.Stage.Phase == workflows.PhaseAwaitingReview
			}},
		{partnership, "/review", map[string]any{"followed": false, "send_back_to": 2, "next_steps": "Managers to discuss first"},
			func(c workflows.Case) bool { return c.Stage.Number == 2 && c.Stage.Phase == "" }},
		// Devon's deadlines are agreed by both sides (its partnership's
		// setting): the respondent proposes, the raiser confirms.
		{respondent, "/deadline", map[string]any{"due_at": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339), "reason": "Review meeting on Thursday"},
			func(c workflows.Case) bool {
				return !c.Stage.Agreed && c.PendingDeadline != nil && c.PendingDeadline.ProposedBySide == workflows.SideRespondent
			}},
		{raiser, "/deadline/confirm", map[string]any{},
			func(c workflows.Case) bool { return c.Stage.Agreed && c.PendingDeadline == nil }},
		{respondent, "/agreement", map[string]any{"outcome": "Case reopened for assessment"},
			func(c workflows.Case) bool { return c.Status == workflows.StatusAgreementProposed }},
		{raiser, "/agreement/confirm", map[string]any{},
			func(c workflows.Case) bool { return c.Status == workflows.StatusResolved && c.Stage.Number == 2 }},
	}
	for _, st := range steps {
		var after workflows.Case
		if code := s.call("POST", path+st.route, st.who, st.body, &after); code != 200 || !st.check(after) {
			t.Fatalf("%s: %d %s %+v", st.route, code, after.Status, after.Stage)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.temporal.GetWorkflow(ctx, c.Ref, "").Get(ctx, nil); err != nil {
		t.Fatalf("workflow did not complete: %v", err)
	}
	recordHistory(t, s.temporal, c.Ref, "devon-urgent-skip-sendback-deadline-agreement")
}
