package policies

import "strings"

// AgencyID is the directory id of the agency a person declared (on their
// account, or for the other side when raising a case): the agency whose id
// or name it is, compared without case and extra spaces, or an agency the
// escalation-contacts table names by id. "" when the directory has no such
// agency (a free-text agency outside the partnership's directory). This is
// the one place a declared agency becomes a directory id: the store applies
// it when a case opens, with the policy the case runs under, and the
// partnership's pack applies it to cases opened before ids were kept.
func (p Policy) AgencyID(declared string) string {
	d := foldAgency(declared)
	if d == "" {
		return ""
	}
	for _, a := range p.Agencies {
		if a.ID != "" && foldAgency(a.ID) == d {
			return a.ID
		}
	}
	for _, a := range p.Agencies {
		if a.ID != "" && foldAgency(a.Name) == d {
			return a.ID
		}
	}
	for _, e := range p.Directory {
		if e.Agency != "" && foldAgency(e.Agency) == d {
			return e.Agency
		}
	}
	return ""
}

// DirectoryAgencies are the agencies of the partnership's directory, once
// each: the policy's agencies, then any agency only the escalation-contacts
// table names (by id, with no name of its own).
func (p Policy) DirectoryAgencies() []Agency {
	var out []Agency
	seen := map[string]bool{}
	for _, a := range p.Agencies {
		if a.ID != "" && !seen[a.ID] {
			seen[a.ID] = true
			out = append(out, Agency{ID: a.ID, Name: a.Name})
		}
	}
	for _, e := range p.Directory {
		if e.Agency != "" && !seen[e.Agency] {
			seen[e.Agency] = true
			out = append(out, Agency{ID: e.Agency, Name: e.Agency})
		}
	}
	return out
}

// foldAgency is an agency's id or name as compared: lower case, spaces
// collapsed, "&" as "and".
func foldAgency(v string) string {
	v = strings.ToLower(strings.Join(strings.Fields(v), " "))
	return strings.ReplaceAll(v, "&", "and")
}
