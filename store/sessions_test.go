package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"escalate/store"
	"escalate/workflows"
)

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// A sign-in link signs in once, before it expires, and starts a session
// for its address; the session lives while used within the idle timeout
// and until its absolute end, and is gone once deleted.
func TestSignInLinksAndSessions(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	link := store.SignInLink{Hash: hashOf("link-1"), Email: " Hana@NHFT.example ", Next: "/cases/X-1", CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute)}
	if err := st.CreateSignInLink(ctx, link); err != nil {
		t.Fatal(err)
	}
	if err := st.SignInLinkUsable(ctx, link.Hash, t0.Add(time.Minute)); err != nil {
		t.Fatalf("fresh link: %v", err)
	}
	if err := st.SignInLinkUsable(ctx, hashOf("other"), t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown link: %v", err)
	}
	if err := st.SignInLinkUsable(ctx, link.Hash, t0.Add(15*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired link usable: %v", err)
	}
	// Expired: refused.
	if _, _, err := st.SignIn(ctx, link.Hash, store.Session{Hash: hashOf("s0"), CSRF: "c", CreatedAt: t0.Add(16 * time.Minute), ExpiresAt: t0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("sign in with an expired link: %v", err)
	}
	at := t0.Add(2 * time.Minute)
	sess, next, err := st.SignIn(ctx, link.Hash, store.Session{Hash: hashOf("s1"), CSRF: "csrf-1", CreatedAt: at, ExpiresAt: at.Add(12 * time.Hour)})
	if err != nil || sess.Email != "hana@nhft.example" || next != "/cases/X-1" {
		t.Fatalf("sign in: %+v %q %v", sess, next, err)
	}
	// Once only.
	if _, _, err := st.SignIn(ctx, link.Hash, store.Session{Hash: hashOf("s2"), CSRF: "c", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second use: %v", err)
	}
	if err := st.SignInLinkUsable(ctx, link.Hash, at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("used link usable: %v", err)
	}
	if _, err := st.UseSession(ctx, hashOf("s2"), at, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused sign-in started a session: %v", err)
	}

	idle := 30 * time.Minute
	got, err := st.UseSession(ctx, hashOf("s1"), at.Add(29*time.Minute), idle)
	if err != nil || got.Email != "hana@nhft.example" || got.CSRF != "csrf-1" {
		t.Fatalf("use within idle: %+v %v", got, err)
	}
	// Used 29 minutes in, it is alive 29 minutes after that...
	if _, err := st.UseSession(ctx, hashOf("s1"), at.Add(58*time.Minute), idle); err != nil {
		t.Fatalf("use refreshed the idle timeout? %v", err)
	}
	// ...but not after 31 idle minutes, and never again.
	if _, err := st.UseSession(ctx, hashOf("s1"), at.Add(89*time.Minute), idle); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("idle session: %v", err)
	}
	if _, err := st.UseSession(ctx, hashOf("s1"), at.Add(59*time.Minute), idle); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an idle session came back: %v", err)
	}

	// The absolute end holds however busy the session is.
	l2 := store.SignInLink{Hash: hashOf("link-2"), Email: "sam@nct.example", Next: "/", CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute)}
	if err := st.CreateSignInLink(ctx, l2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.SignIn(ctx, l2.Hash, store.Session{Hash: hashOf("s3"), CSRF: "c", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for m := 20; m < 60; m += 20 {
		if _, err := st.UseSession(ctx, hashOf("s3"), t0.Add(time.Duration(m)*time.Minute), idle); err != nil {
			t.Fatalf("busy session at %d minutes: %v", m, err)
		}
	}
	if _, err := st.UseSession(ctx, hashOf("s3"), t0.Add(61*time.Minute), idle); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session past its absolute end: %v", err)
	}

	// Signing out deletes it.
	l3 := store.SignInLink{Hash: hashOf("link-3"), Email: "sam@nct.example", Next: "/", CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute)}
	if err := st.CreateSignInLink(ctx, l3); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.SignIn(ctx, l3.Hash, store.Session{Hash: hashOf("s4"), CSRF: "c", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSession(ctx, hashOf("s4")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UseSession(ctx, hashOf("s4"), t0.Add(time.Minute), idle); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session after sign-out: %v", err)
	}
}

// Who an address is: their active token's person, else the party a case
// names with it, else no one.
func TestPersonByEmail(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	in := sampleInput(1, workflows.StatusOpen, workflows.Event{Seq: 1, At: time.Now(), Type: workflows.EventOpened, Stage: 1, By: "Hana", Text: "o"})
	in.Case.Contacts = []workflows.Contact{{Party: workflows.Party{Name: "Mo Manager", Email: "Mo@NCT.example", Agency: "nct"}, Side: "respondent", Stage: 2}}
	if _, err := st.RecordEvents(ctx, in, render); err != nil {
		t.Fatal(err)
	}
	p, err := st.PersonByEmail(ctx, "HANA@nhft.example")
	if err != nil || p.Name != "Hana" || p.Agency != "nhft" || p.Role != "practitioner" || p.FromToken {
		t.Fatalf("raiser: %+v %v", p, err)
	}
	if p, err := st.PersonByEmail(ctx, "mo@nct.example"); err != nil || p.Name != "Mo Manager" || p.Agency != "nct" {
		t.Fatalf("contact: %+v %v", p, err)
	}
	if _, err := st.PersonByEmail(ctx, "nobody@nct.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stranger: %v", err)
	}
	// A token makes them who the token says; a revoked one does not.
	if _, err := st.CreateToken(ctx, store.Token{ID: "tok_m", Name: "Mo M.", Email: "MO@nct.example", Agency: "nct", Role: "manager", CreatedBy: "t"}, hashOf("m")); err != nil {
		t.Fatal(err)
	}
	if p, err := st.PersonByEmail(ctx, "mo@nct.example"); err != nil || p.Name != "Mo M." || p.Role != "manager" || !p.FromToken {
		t.Fatalf("token holder: %+v %v", p, err)
	}
	if _, err := st.CreateToken(ctx, store.Token{ID: "tok_x", Name: "X", Email: "x@police.example", Agency: "police", Role: "practitioner", CreatedBy: "t"}, hashOf("x")); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeToken(ctx, "tok_x"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PersonByEmail(ctx, "x@police.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked token's person: %v", err)
	}
}
