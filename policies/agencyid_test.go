package policies

import "testing"

func TestAgencyID(t *testing.T) {
	p := Policy{
		Agencies: []Agency{
			{ID: "nct", Name: "Northamptonshire Children's Trust"},
			{ID: "police", Name: "Police & Crime"},
			// An id that is another agency's name is matched as an id first.
			{ID: "health", Name: "nct"},
		},
		Directory: []DirectoryEntry{{Agency: "schools", Role: "dsl"}, {Agency: "nct", Role: "manager"}},
	}
	for _, tc := range []struct{ declared, want string }{
		{"nct", "nct"},
		{"  NCT ", "nct"},
		{"northamptonshire   children's trust", "nct"},
		{"Police and Crime", "police"},
		{"police & crime", "police"},
		{"schools", "schools"},
		{"Health", "health"},
		{"GP surgery", ""},
		{"", ""},
		{"   ", ""},
		{"nct2", ""},
	} {
		if got := p.AgencyID(tc.declared); got != tc.want {
			t.Errorf("AgencyID(%q) = %q, want %q", tc.declared, got, tc.want)
		}
	}
	got := p.DirectoryAgencies()
	want := []Agency{{ID: "nct", Name: "Northamptonshire Children's Trust"}, {ID: "police", Name: "Police & Crime"},
		{ID: "health", Name: "nct"}, {ID: "schools", Name: "schools"}}
	if len(got) != len(want) {
		t.Fatalf("DirectoryAgencies = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Name != want[i].Name {
			t.Errorf("DirectoryAgencies[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// Every shipped policy's agencies map to themselves by id and by name.
func TestAgencyIDShippedPolicies(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.All() {
		for _, a := range p.Agencies {
			if got := p.AgencyID(a.ID); got != a.ID {
				t.Errorf("%s: AgencyID(%q) = %q", p.ID, a.ID, got)
			}
			if got := p.AgencyID(a.Name); got != a.ID {
				t.Errorf("%s: AgencyID(%q) = %q, want %q", p.ID, a.Name, got, a.ID)
			}
		}
	}
}
