// Package cases is the application core's home for who may do what with a
// case: the contract's access rules (../shared/spec/api.md, "Authentication
// and who may do what"), as pure functions of the person and the case. The
// JSON API calls them; the store's list query mirrors CanRead in SQL, and a
// test proves the two agree.
package cases

import (
	"strings"

	"escalate/workflows"
)

// Roles a person may have.
const (
	RolePractitioner = "practitioner"
	RoleManager      = "manager"
	RolePartnership  = "partnership"
	RoleAdmin        = "admin"
	// RoleObserver is a mailbox the procedure sends a partnership's case
	// mails to without making it a party (its business office, its
	// learning group, the board's chair): it reads those cases, never acts.
	// Only the pages make one (PolicyPerson); no token has it.
	RoleObserver = "observer"
)

// Principal is the person acting: who a bearer token (or a session)
// belongs to. A partnership person's Agency is the id of the policy they
// serve.
type Principal struct {
	TokenID string
	Name    string
	Email   string
	Agency  string
	Role    string
	// Scopes, when set, are the only policies (partnerships) whose cases
	// the principal's role reaches: a person the pages know only from a
	// policy's contacts (PolicyPerson). Empty: the role's whole reach.
	Scopes []string
}

// inScope: c is of a policy p's role reaches.
func inScope(p Principal, c workflows.Case) bool {
	if len(p.Scopes) == 0 {
		return true
	}
	for _, s := range p.Scopes {
		if s == c.Policy {
			return true
		}
	}
	return false
}

// Person is the principal as the workflow records who acted.
func (p Principal) Person() workflows.Person {
	return workflows.Person{Name: p.Name, Email: p.Email, Agency: p.Agency, Role: p.Role}
}

// IsParty: the raiser, the respondent, a recorded contact or an adviser,
// matched by email case-insensitively.
func IsParty(p Principal, c workflows.Case) bool {
	e := strings.ToLower(strings.TrimSpace(p.Email))
	if e == "" {
		return false
	}
	for _, pe := range c.PartyEmails() {
		if pe == e {
			return true
		}
	}
	return false
}

// PartnershipOf: a partnership person of the case's policy.
func PartnershipOf(p Principal, c workflows.Case) bool {
	return p.Role == RolePartnership && p.Agency != "" && p.Agency == c.Policy
}

// CanAct: the parties, the case policy's partnership, admins.
func CanAct(p Principal, c workflows.Case) bool {
	return p.Role == RoleAdmin || PartnershipOf(p, c) || IsParty(p, c)
}

// ActsForEitherSide: the partnership of the case's policy and admins may
// name a contact for either side; a party names their own side's only.
func ActsForEitherSide(p Principal, c workflows.Case) bool {
	return p.Role == RoleAdmin || PartnershipOf(p, c)
}

// CanRead: those who can act, plus managers of either agency (within
// their scopes), plus the observers of the case's policy.
func CanRead(p Principal, c workflows.Case) bool {
	if CanAct(p, c) {
		return true
	}
	if p.Role == RoleObserver {
		return len(p.Scopes) > 0 && inScope(p, c)
	}
	return p.Role == RoleManager && p.Agency != "" && (p.Agency == c.Raiser.Agency || p.Agency == c.Respondent.Agency) && inScope(p, c)
}

// Oversees: the partnership and admins see across cases (reports, the
// notifications that did not arrive).
func Oversees(p Principal) bool {
	return p.Role == RolePartnership || p.Role == RoleAdmin
}

// OverseenPolicy is the policy an overseer's cross-case view covers: a
// partnership person's own policy only (asked, if given, must be it); for
// an admin, asked ("" meaning every policy). ok is false when p may not
// see it.
func OverseenPolicy(p Principal, asked string) (policy string, ok bool) {
	if p.Role == RoleAdmin {
		return asked, true
	}
	if p.Role != RolePartnership || p.Agency == "" || (asked != "" && asked != p.Agency) {
		return "", false
	}
	return p.Agency, true
}
