package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/workflows"
)

// People's web pages sign in with a one-time link mailed to them and then
// hold a server-side session. The store keeps only the SHA-256 of each
// secret (the link's, the cookie's): see migration 000009.

// SignInLink is a one-time sign-in link as stored: the hash of its secret,
// whom it signs in, and where they were going.
type SignInLink struct {
	Hash      []byte
	Email     string
	Next      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Session is a signed-in browser.
type Session struct {
	Hash       []byte
	Email      string
	CSRF       string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// Person is who an email address belongs to, for the pages' principal:
// from the person's newest active token if they have one, else from the
// newest case naming them (role practitioner).
type Person struct {
	Name   string
	Email  string
	Agency string
	Role   string
	// FromToken: name, agency and role are the token's.
	FromToken bool
}

// linkKeep is how long used and expired sign-in links are kept before
// CreateSignInLink deletes them (long enough to tell "used" from "unknown"
// in logs the same day, no longer).
const linkKeep = 24 * time.Hour

// CreateSignInLink stores a link, deleting links long expired.
func (s *Store) CreateSignInLink(ctx context.Context, l SignInLink) (err error) {
	ctx, done := s.call(ctx, "CreateSignInLink", writes, s.timeout)
	defer done(&err)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM signin_links WHERE expires_at < $1`, l.CreatedAt.Add(-linkKeep)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO signin_links (hash, email, next, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			l.Hash, strings.ToLower(strings.TrimSpace(l.Email)), l.Next, l.CreatedAt, l.ExpiresAt)
		return err
	})
}

// SignInLinkUsable reports, without using it, whether a link is unused and
// unexpired at now: ErrNotFound if not (unknown, used or expired alike).
func (s *Store) SignInLinkUsable(ctx context.Context, hash []byte, now time.Time) (err error) {
	ctx, done := s.call(ctx, "SignInLinkUsable", reads, s.timeout)
	defer done(&err)
	var ok bool
	err = s.pool.QueryRow(ctx, `SELECT true FROM signin_links WHERE hash = $1 AND used_at IS NULL AND expires_at > $2`, hash, now).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// SignIn uses a link once and starts the session it grants, in one
// transaction: the link is marked used only if it was unused and unexpired
// at now (so two uses at once start one session), and the session is for
// the link's address. It returns the session as stored (its Email and
// times) and where the person was going; ErrNotFound if the link cannot
// be used. Sessions past their end are deleted.
func (s *Store) SignIn(ctx context.Context, linkHash []byte, sess Session) (_ Session, next string, err error) {
	ctx, done := s.call(ctx, "SignIn", writes, s.timeout)
	defer done(&err)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE signin_links SET used_at = $2
			WHERE hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING email, next`, linkHash, sess.CreatedAt).Scan(&sess.Email, &next)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM web_sessions WHERE expires_at < $1`, sess.CreatedAt); err != nil {
			return err
		}
		sess.LastSeenAt = sess.CreatedAt
		_, err = tx.Exec(ctx, `INSERT INTO web_sessions (hash, email, csrf, created_at, last_seen_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, sess.Hash, sess.Email, sess.CSRF, sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt)
		return err
	})
	if err != nil {
		return Session{}, "", err
	}
	return sess, next, nil
}

// UseSession finds the session whose secret hashes to hash and marks it
// seen at now, unless it has passed its absolute end or been idle longer
// than idle: then it is deleted. ErrNotFound if there is no live session.
func (s *Store) UseSession(ctx context.Context, hash []byte, now time.Time, idle time.Duration) (_ Session, err error) {
	ctx, done := s.call(ctx, "UseSession", writes, s.timeout)
	defer done(&err)
	sess := Session{Hash: hash}
	err = s.pool.QueryRow(ctx, `UPDATE web_sessions SET last_seen_at = $2
		WHERE hash = $1 AND expires_at > $2 AND last_seen_at > $3
		RETURNING email, csrf, created_at, last_seen_at, expires_at`, hash, now, now.Add(-idle)).
		Scan(&sess.Email, &sess.CSRF, &sess.CreatedAt, &sess.LastSeenAt, &sess.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		// Gone, or past its time: then it goes now.
		if _, err := s.pool.Exec(ctx, `DELETE FROM web_sessions WHERE hash = $1`, hash); err != nil {
			return Session{}, err
		}
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, err
	}
	return sess, nil
}

// DeleteSession ends a session (signing out); ending one that is gone is
// harmless.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) (err error) {
	ctx, done := s.call(ctx, "DeleteSession", writes, s.timeout)
	defer done(&err)
	_, err = s.pool.Exec(ctx, `DELETE FROM web_sessions WHERE hash = $1`, hash)
	return err
}

// PersonByEmail says who an address belongs to: the person of its newest
// active (unrevoked, unexpired) token; else the raiser, respondent, contact
// or adviser it names on the newest case whose parties include it, as a
// practitioner. ErrNotFound if neither: the address may not sign in.
func (s *Store) PersonByEmail(ctx context.Context, email string) (_ Person, err error) {
	ctx, done := s.call(ctx, "PersonByEmail", reads, s.timeout)
	defer done(&err)
	email = strings.ToLower(strings.TrimSpace(email))
	p := Person{Email: email, FromToken: true}
	err = s.pool.QueryRow(ctx, `SELECT name, agency, role FROM tokens
		WHERE lower(email) = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
		ORDER BY created_at DESC, id DESC LIMIT 1`, email).Scan(&p.Name, &p.Agency, &p.Role)
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Person{}, err
	}
	var snap []byte
	err = s.pool.QueryRow(ctx, `SELECT snapshot FROM cases WHERE parties @> ARRAY[$1::text]
		ORDER BY created_at DESC, ref DESC LIMIT 1`, email).Scan(&snap)
	if errors.Is(err, pgx.ErrNoRows) {
		return Person{}, ErrNotFound
	}
	if err != nil {
		return Person{}, err
	}
	var c workflows.Case
	if err := json.Unmarshal(snap, &c); err != nil {
		return Person{}, err
	}
	party, ok := partyByEmail(c, email)
	if !ok {
		return Person{}, ErrNotFound
	}
	return Person{Name: party.Name, Email: email, Agency: party.Agency, Role: "practitioner"}, nil
}

// partyByEmail is the party of the case whose address is email.
func partyByEmail(c workflows.Case, email string) (workflows.Party, bool) {
	same := func(p workflows.Party) bool { return strings.ToLower(strings.TrimSpace(p.Email)) == email }
	if same(c.Raiser) {
		return c.Raiser, true
	}
	if same(c.Respondent) {
		return c.Respondent, true
	}
	for _, ct := range c.Contacts {
		if same(ct.Party) {
			return ct.Party, true
		}
	}
	for _, a := range c.Advisers {
		if same(a.Party) {
			return a.Party, true
		}
	}
	return workflows.Party{}, false
}
