package store_test

import (
	"context"
	"testing"

	"escalate/store"
)

// Operators list tokens to find one to revoke: active ones by default,
// revoked ones on request, newest first.
func TestTokensList(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	for _, id := range []string{"tok_a", "tok_b", "tok_c"} {
		if _, err := st.CreateToken(ctx, store.Token{ID: id, Name: id, Email: id + "@x.example", Agency: "nct", Role: "practitioner", CreatedBy: "t"},
			[]byte("hash-"+id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RevokeToken(ctx, "tok_b"); err != nil {
		t.Fatal(err)
	}
	active, err := st.Tokens(ctx, false, 10)
	if err != nil || len(active) != 2 {
		t.Fatalf("active: %+v %v", active, err)
	}
	for _, tok := range active {
		if tok.ID == "tok_b" || tok.RevokedAt != nil {
			t.Errorf("revoked token listed as active: %+v", tok)
		}
	}
	all, err := st.Tokens(ctx, true, 10)
	if err != nil || len(all) != 3 {
		t.Fatalf("all: %+v %v", all, err)
	}
	if one, err := st.Tokens(ctx, true, 1); err != nil || len(one) != 1 {
		t.Fatalf("limit 1: %+v %v", one, err)
	}
}
