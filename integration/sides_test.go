package integration

import (
	"testing"

	"escalate/workflows"
)

// Issue 10, item 1, as the attacker did it through the API: a party names
// contacts for their own side only, so nobody confirms their own side's
// proposal or withdraws the other side's case through someone they chose.
// The partnership of the case's policy may name either side's contact.
func TestPartiesNameContactsForTheirOwnSideOnly(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	colleague := s.token("Cal Colleague", "cal@nhft.example", "nhft", "practitioner")
	respondent := s.token("Sam Social", "sam@nct.example", "nct", "practitioner")
	accomplice := s.token("Ace Complice", "ace@nct.example", "nct", "practitioner")
	partnership := s.token("Pat Lead", "pat@nscp.example", "northamptonshire", "partnership")

	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire", "child_ref": "NCT/78",
		"category": "communication", "summary": "Information not shared",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != 201 {
		t.Fatalf("create: %d", code)
	}
	path := "/v1/cases/" + c.Ref
	var eb errorBody
	events := s.eventCount(t, c.Ref)
	if code := s.call("POST", path+"/contacts", raiser, map[string]string{"side": "respondent", "name": "Cal Colleague",
		"email": "cal@nhft.example", "role": "Health visitor"}, &eb); code != 409 || eb.Error.Code != "conflict" {
		t.Fatalf("the raiser names the respondent's contact: %d %+v, want 409 conflict", code, eb)
	}
	if code := s.call("POST", path+"/contacts", respondent, map[string]string{"side": "raiser", "name": "Ace Complice",
		"email": "ace@nct.example", "role": "Social worker"}, &eb); code != 409 || eb.Error.Code != "conflict" {
		t.Fatalf("the respondent names the raiser's contact: %d %+v, want 409 conflict", code, eb)
	}
	if got := s.eventCount(t, c.Ref); got != events {
		t.Fatalf("refused contacts wrote %d events", got-events)
	}
	if code := s.call("POST", path+"/agreement", raiser, map[string]any{"outcome": "No further action"}, &c); code != 200 {
		t.Fatalf("propose: %d", code)
	}
	// Neither the raiser's colleague nor the respondent's accomplice is a
	// party: they may not act at all.
	if code := s.call("POST", path+"/agreement/confirm", colleague, map[string]any{}, &eb); code != 404 {
		t.Errorf("the raiser's colleague confirms: %d, want 404", code)
	}
	if code := s.call("POST", path+"/withdrawal", accomplice, map[string]string{"reason": "x"}, &eb); code != 404 {
		t.Errorf("the respondent's accomplice withdraws: %d, want 404", code)
	}
	// Named for the raiser's own side, the colleague still cannot confirm
	// the raiser's proposal.
	if code := s.call("POST", path+"/contacts", raiser, map[string]string{"side": "raiser", "name": "Cal Colleague",
		"email": "cal@nhft.example", "role": "Line manager"}, &c); code != 200 {
		t.Fatalf("the raiser names their own side's contact: %d", code)
	}
	if code := s.call("POST", path+"/agreement/confirm", colleague, map[string]any{}, &eb); code != 409 {
		t.Errorf("a contact of the proposing side confirms: %d %+v, want 409", code, eb)
	}
	if code := s.call("POST", path+"/contacts", partnership, map[string]string{"side": "respondent", "name": "Ace Complice",
		"email": "ace@nct.example", "role": "Team manager"}, &c); code != 200 {
		t.Fatalf("the partnership names the respondent's contact: %d", code)
	}
	last := c.Contacts[len(c.Contacts)-1]
	if last.Side != workflows.SideRespondent || last.Agency != "nct" {
		t.Errorf("contact recorded as %+v", last)
	}
	if code := s.call("POST", path+"/agreement/confirm", accomplice, map[string]any{}, &c); code != 200 || c.Status != workflows.StatusResolved {
		t.Fatalf("the respondent's named contact confirms: %d %s", code, c.Status)
	}
	// A real policy's case (working-day timers), its write turns and
	// refused contacts, for the replay tests.
	recordHistory(t, s.temporal, c.Ref, "northamptonshire-contacts-sides-agreement")
}
