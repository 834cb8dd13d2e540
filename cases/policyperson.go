package cases

import (
	"strings"

	"escalate/policies"
)

// PolicyPerson is who an address is to the procedures when it has no
// account and no case names it as a party, but a policy mails case links
// to it; ok is false if no policy does. Each gets the least the procedure
// needs to follow the link it was sent:
//
//   - An agency's escalation contact (the safeguarding lead or duty
//     manager mailbox a policy tells when a side has named nobody at a
//     stage above the practitioners) is a manager of that agency, for that
//     partnership's cases only: they read them, and can step in as their
//     side's contact (StepIn), which makes them a party who acts, on the
//     record.
//   - A partnership's business office, learning mailbox and outcome report
//     mailbox are observers of that partnership's cases: they read them
//     and never act (acting for the partnership takes a partnership
//     account).
//
// An address that is both is its escalation-contact self, in every
// partnership that names it so.
func PolicyPerson(pols []policies.Policy, email string) (Principal, bool) {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" {
		return Principal{}, false
	}
	same := func(c *policies.Contact) bool { return c != nil && strings.ToLower(strings.TrimSpace(c.Email)) == e }
	var mgr, obs Principal
	for _, p := range pols {
		for _, a := range p.Agencies {
			if same(a.EscalationContact) && (mgr.Agency == "" || mgr.Agency == a.ID) {
				mgr = Principal{Name: a.EscalationContact.Name, Email: e, Agency: a.ID, Role: RoleManager, Scopes: append(mgr.Scopes, p.ID)}
			}
		}
		for _, m := range []*policies.Contact{&p.BusinessOffice, p.LearningTo, p.OutcomeReportTo} {
			if same(m) {
				obs = Principal{Name: m.Name, Email: e, Agency: p.ID, Role: RoleObserver, Scopes: appendOnce(obs.Scopes, p.ID)}
			}
		}
	}
	if mgr.Role != "" {
		mgr.Scopes = appendOnce(nil, mgr.Scopes...)
		return mgr, true
	}
	if obs.Role != "" {
		return obs, true
	}
	return Principal{}, false
}

func appendOnce(list []string, items ...string) []string {
	for _, it := range items {
		found := false
		for _, x := range list {
			found = found || x == it
		}
		if !found {
			list = append(list, it)
		}
	}
	return list
}
