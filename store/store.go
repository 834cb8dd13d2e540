// Package store is escalate's one door to PostgreSQL: migrations, the case
// record, notifications, tokens and idempotency keys. No SQL lives elsewhere.
package store

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // pgx5:// driver
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"escalate/policies"
	"escalate/workflows"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultURL is the database the contract names when DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/escalate?sslmode=disable"

// Errors the API maps to statuses.
var (
	ErrNotFound            = errors.New("not found")
	ErrIdempotencyMismatch = errors.New("idempotency key was used with a different body")
)

// Store holds the connection pool and the keys that seal the record.
type Store struct {
	pool *pgxpool.Pool
	keys *RecordKeys
	// timeout bounds each call; recordTimeout RecordEvents' transaction.
	timeout, recordTimeout time.Duration
}

// Options are what Open needs besides the database's URL.
type Options struct {
	// Keys seal what is written to the record and verify what was
	// (RECORD_KEY). Required.
	Keys *RecordKeys
	// Timeout bounds every store call (DATABASE_TIMEOUT, default
	// DefaultTimeout): a PostgreSQL that takes connections but answers
	// nothing then fails a request in seconds instead of holding it.
	Timeout time.Duration
	// RecordTimeout bounds RecordEvents' transaction (DATABASE_RECORD_TIMEOUT,
	// default DefaultRecordTimeout), which does more than any other call.
	RecordTimeout time.Duration
	// UnsafeAllowPrivileged lets the login role be a superuser, have
	// BYPASSRLS or own the record's tables. The API and the worker never set
	// it: such a role can RESET ROLE, switch the record's triggers off and
	// rewrite it. Only tests, for their own checks beside the system they
	// test, open the store that way.
	UnsafeAllowPrivileged bool
}

// Defaults of Options and of the connection.
const (
	DefaultTimeout       = 5 * time.Second
	DefaultRecordTimeout = 10 * time.Second
	// DefaultConnectTimeout is used when the URL sets no connect_timeout.
	DefaultConnectTimeout = 5 * time.Second
)

// Open connects to PostgreSQL as the login role dsn names, which must not
// be able to change the record: Open refuses a superuser, a role with
// BYPASSRLS and the owner of the record's tables (a *PrivilegeError), and
// so does every later connection of the pool. It does not create or migrate
// the database: call Prepare first, with the administrator's URL.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Keys == nil || len(opts.Keys.keys) == 0 {
		return nil, errors.New("no record key: the record cannot be sealed or verified without RECORD_KEY")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	// Enough for the bursts a partnership's systems send at once (the
	// connections wait within each call's deadline); pool_max_conns in the
	// URL overrides it.
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = 20
	}
	// A connection that stops answering is noticed: dialing and the
	// handshake are bounded, the kernel probes an idle connection whose
	// peer has gone, the pool checks idle ones every few seconds and pings
	// one idle for over a second before handing it out.
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	dialer := &net.Dialer{
		Timeout:         cfg.ConnConfig.ConnectTimeout,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3},
	}
	cfg.ConnConfig.DialFunc = dialer.DialContext
	cfg.HealthCheckPeriod = 15 * time.Second
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.PingTimeout = 2 * time.Second
	// Act as the application role: it may read and add to the record,
	// never change or remove it. The login role is checked first, because
	// a privileged one could RESET ROLE out of it.
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if !opts.UnsafeAllowPrivileged {
			if err := checkLoginRole(ctx, c); err != nil {
				return err
			}
		}
		_, err := c.Exec(ctx, "SET ROLE "+AppRole)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool, keys: opts.Keys, timeout: opts.Timeout, recordTimeout: opts.RecordTimeout}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.recordTimeout <= 0 {
		s.recordTimeout = DefaultRecordTimeout
	}
	// One connection now, so that a privileged login role stops the process
	// at start. PostgreSQL not answering yet is not a reason to stop: the
	// pool connects when it can, and /readyz says it cannot meanwhile.
	if err := s.Ping(ctx); err != nil {
		var pe *PrivilegeError
		if errors.As(err, &pe) {
			pool.Close()
			return nil, pe
		}
	}
	return s, nil
}

// AppRole is the role the API and the worker act as: it may read the record
// and add to it, never change or remove it (store/migrations/000002).
const AppRole = "escalate_app"

// PrivilegeError is a login role that could change the record.
type PrivilegeError struct {
	Role string
	Why  string
}

func (e *PrivilegeError) Error() string {
	return fmt.Sprintf("the database login role %q %s: the API and the worker must log in as a role that cannot change the record "+
		"(%s, or a role granted it that is neither a superuser nor the tables' owner); set DATABASE_APP_URL, see SECURITY.md", e.Role, e.Why, AppRole)
}

// checkLoginRole refuses a session whose login role could escape the
// application role: a superuser, a role with BYPASSRLS, or one that owns
// (or is a member of the owner of) the events table, who could switch its
// triggers off.
func checkLoginRole(ctx context.Context, c *pgx.Conn) error {
	var role string
	var super, bypass, owner bool
	err := c.QueryRow(ctx, `SELECT r.rolname, r.rolsuper, r.rolbypassrls, coalesce(pg_has_role(session_user, t.relowner, 'MEMBER'), false)
		FROM pg_roles r LEFT JOIN pg_class t ON t.oid = to_regclass('public.events')
		WHERE r.rolname = session_user`).Scan(&role, &super, &bypass, &owner)
	if err != nil {
		return err
	}
	switch {
	case super:
		return &PrivilegeError{Role: role, Why: "is a superuser"}
	case bypass:
		return &PrivilegeError{Role: role, Why: "has BYPASSRLS"}
	case owner:
		return &PrivilegeError{Role: role, Why: "owns the record's tables"}
	}
	return nil
}

// AppURL is the URL the API and the worker log in with when DATABASE_APP_URL
// is unset: the administrator's URL (DATABASE_URL, which may be a superuser's
// and is used only to create and migrate the database) with AppRole as its
// user and no password. That suits trust, peer or certificate
// authentication, as on a developer's machine; where passwords are used,
// set DATABASE_APP_URL (migrate then gives AppRole its password).
func AppURL(adminURL string) (string, error) {
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("DATABASE_URL is not a postgres:// URL, so the application's login cannot be derived from it: set DATABASE_APP_URL")
	}
	u.User = url.User(AppRole)
	return u.String(), nil
}

// EnsureAppLogin gives AppRole the password appURL names, connecting with
// adminURL, so a deployment that authenticates with passwords needs no step
// by hand. A URL without a password, or for another role, changes nothing:
// another role is the deployer's to create and grant AppRole.
func EnsureAppLogin(ctx context.Context, adminURL, appURL string) error {
	cfg, err := pgx.ParseConfig(appURL)
	if err != nil {
		return fmt.Errorf("DATABASE_APP_URL: %w", err)
	}
	if cfg.User != AppRole || cfg.Password == "" {
		return nil
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var stmt string
	if err := conn.QueryRow(ctx, `SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', $1::text, $2::text)`, AppRole, cfg.Password).Scan(&stmt); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, stmt)
	return err
}

// Close releases the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that PostgreSQL answers.
func (s *Store) Ping(ctx context.Context) (err error) {
	ctx, done := s.call(ctx, "Ping", reads, s.timeout)
	defer done(&err)
	return s.pool.Ping(ctx)
}

// access says whether a store call may change data.
type access bool

const (
	reads  access = false
	writes access = true
)

// errDeadline is the cause of a store call's own deadline.
var errDeadline = errors.New("the store call's deadline passed")

// call bounds one store call, and every exported method begins with it: a
// PostgreSQL that accepts connections but answers nothing fails the call
// when its deadline passes, instead of holding it (and the request or the
// activity waiting on it) for as long as TCP takes to give up. done(&err)
// ends the call; an error the deadline caused becomes a *TimeoutError.
func (s *Store) call(ctx context.Context, op string, a access, d time.Duration) (context.Context, func(*error)) {
	ctx, cancel := context.WithTimeoutCause(ctx, d, errDeadline)
	return ctx, func(errp *error) {
		defer cancel()
		err := *errp
		if err == nil {
			return
		}
		var pgErr *pgconn.PgError
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrIdempotencyMismatch) || errors.Is(err, ErrRecordConflict) || errors.As(err, &pgErr) {
			return // an answer, which came in time
		}
		// The deadline passed; or a new connection's own connect_timeout
		// (the pool connects on a context of its own) ran out first.
		var connectErr *pgconn.ConnectError
		ours := ctx.Err() != nil && errors.Is(context.Cause(ctx), errDeadline)
		connectTimedOut := errors.As(err, &connectErr) && (pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded))
		if ours || connectTimedOut {
			*errp = &TimeoutError{Op: op, After: d, MayHaveWritten: a == writes && !nothingSent(err), Err: err}
		}
	}
}

// nothingSent reports whether a call failed before anything it sent could
// reach PostgreSQL: waiting for a connection of the pool (a bare context
// error), connecting, or a statement pgconn never sent.
func nothingSent(err error) bool {
	var connectErr *pgconn.ConnectError
	return err == context.DeadlineExceeded || errors.As(err, &connectErr) || pgconn.SafeToRetry(err)
}

// TimeoutError is a store call that PostgreSQL did not answer within its
// deadline.
type TimeoutError struct {
	Op    string
	After time.Duration
	// MayHaveWritten: the call changes data and what it sent may have
	// reached PostgreSQL, so whether the change was made is not known. A
	// call that only reads, or that failed before sending anything, changed
	// nothing.
	MayHaveWritten bool
	Err            error
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("PostgreSQL did not answer %s within %s: %v", e.Op, e.After, e.Err)
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// Prepare creates the database named in dsn if it does not exist (connecting
// to the server's "postgres" database to do so) and applies every embedded
// migration not yet applied. It is safe to run at every start.
func Prepare(ctx context.Context, dsn string) error {
	if err := createDatabase(ctx, dsn); err != nil {
		return err
	}
	src, err := iofs.New(migrations, "migrations")
	if err != nil {
		return err
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	u.Scheme = "pgx5"
	m, err := migrate.NewWithSourceInstance("iofs", src, u.String())
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func createDatabase(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	name := cfg.Database
	if name == "" {
		return errors.New("DATABASE_URL names no database")
	}
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL at %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created meanwhile
		return nil
	}
	return err
}

// IsUnavailable reports whether err means PostgreSQL could not be reached,
// as opposed to a query it refused.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P: operator intervention (shutdown).
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P")
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || pgconn.SafeToRetry(err) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	// The connection went away under a statement (PostgreSQL restarted,
	// the network cut it): the pool's next connection fails to connect,
	// and this one is no different to the caller (make chaos found it
	// answered 500).
	var netErr net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.As(err, &netErr)
}

// RefusedCode is the SQLSTATE of an error whose cause is the data itself
// (class 22, data exception: e.g. a NUL in text; class 23, integrity
// constraint violation), or "" for any other error. Retrying such a write
// can never succeed.
func RefusedCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23")) {
		return pgErr.Code
	}
	return ""
}

// ---- cases and the record ----

// NextRef allocates the next case reference for a prefix and year. Used
// without an idempotency key; with one, ClaimRef allocates.
func (s *Store) NextRef(ctx context.Context, prefix string, year int) (_ string, err error) {
	ctx, done := s.call(ctx, "NextRef", writes, s.timeout)
	defer done(&err)
	var n int64
	err = s.pool.QueryRow(ctx, allocateNumber, prefix, year).Scan(&n)
	if err != nil {
		return "", err
	}
	return workflows.CaseRef(prefix, year, n), nil
}

const allocateNumber = `
INSERT INTO case_numbers (prefix, year, last_number) VALUES ($1, $2, 1)
ON CONFLICT (prefix, year) DO UPDATE SET last_number = case_numbers.last_number + 1
RETURNING last_number`

// ClaimRef returns the case reference bound to (owner, key): the existing
// one if the key was used before with the same body hash (existing true), a
// newly allocated one otherwise. A key reused with another body is
// ErrIdempotencyMismatch. Concurrent claims of one key return one reference.
// A key whose claim was released (ReleaseRef: its case was never started)
// is claimed afresh, with a new reference.
func (s *Store) ClaimRef(ctx context.Context, owner, key string, bodyHash []byte, prefix string, year int) (ref string, existing bool, err error) {
	ctx, done := s.call(ctx, "ClaimRef", writes, s.timeout)
	defer done(&err)
	for attempt := 0; attempt < 3; attempt++ {
		var hash []byte
		err = s.pool.QueryRow(ctx, `SELECT body_hash, ref FROM idempotency_keys WHERE owner = $1 AND key = $2`, owner, key).Scan(&hash, &ref)
		if err == nil && ref != releasedRef {
			if string(hash) != string(bodyHash) {
				return "", false, ErrIdempotencyMismatch
			}
			return ref, true, nil
		}
		released := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return "", false, err
		}
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var n int64
			if err := tx.QueryRow(ctx, allocateNumber, prefix, year).Scan(&n); err != nil {
				return err
			}
			ref = workflows.CaseRef(prefix, year, n)
			var tag pgconn.CommandTag
			var err error
			if released {
				// Only one concurrent claimer finds it still released.
				tag, err = tx.Exec(ctx, `UPDATE idempotency_keys SET body_hash = $3, ref = $4, created_at = now()
					WHERE owner = $1 AND key = $2 AND ref = $5`, owner, key, bodyHash, ref, releasedRef)
			} else {
				tag, err = tx.Exec(ctx, `INSERT INTO idempotency_keys (owner, key, body_hash, ref) VALUES ($1, $2, $3, $4)
					ON CONFLICT (owner, key) DO NOTHING`, owner, key, bodyHash, ref)
			}
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return errKeyRace
			}
			return nil
		})
		if errors.Is(err, errKeyRace) {
			continue // another request claimed it first: read theirs
		}
		return ref, false, err
	}
	return "", false, errors.New("idempotency key contention")
}

// releasedRef is the reference of a released claim. The application's role
// may not delete rows, so a release empties the reference instead.
const releasedRef = ""

// ReleaseRef unbinds (owner, key) from ref, the reference ClaimRef gave it,
// when the case was certainly never started (Temporal refused the start), so
// the key is not left naming a case that does not exist. The reference's
// number is not reused. A key bound meanwhile to another reference is left
// alone.
func (s *Store) ReleaseRef(ctx context.Context, owner, key, ref string) (err error) {
	ctx, done := s.call(ctx, "ReleaseRef", writes, s.timeout)
	defer done(&err)
	_, err = s.pool.Exec(ctx, `UPDATE idempotency_keys SET ref = $4 WHERE owner = $1 AND key = $2 AND ref = $3`,
		owner, key, ref, releasedRef)
	return err
}

var errKeyRace = errors.New("idempotency key claimed concurrently")

// ErrRecordConflict is a RecordEvents that would have to rewrite the
// record to go through: see RecordConflictError.
var ErrRecordConflict = errors.New("record conflict")

// RecordConflictError is an event whose sequence number is already taken
// on the record by an event with other content, or that the record has gone
// past without it. Writing it would lose it or rewrite the record, so
// nothing of the step is written; retrying cannot help, and someone must
// find out how the record came to differ from the case.
type RecordConflictError struct {
	Ref string
	Seq int
	Why string
}

func (e *RecordConflictError) Error() string {
	return fmt.Sprintf("record of %s, event %d: %s", e.Ref, e.Seq, e.Why)
}

func (e *RecordConflictError) Is(target error) bool { return target == ErrRecordConflict }

// RecordEvents writes events, the snapshot and the notifications of one
// workflow step in one transaction, seals each new event and then the case
// row with the record key. Replaying the same input changes nothing; an
// older snapshot never overwrites a newer one; an event whose place on the
// record is taken by other content is a *RecordConflictError, and nothing is
// written.
func (s *Store) RecordEvents(ctx context.Context, in workflows.RecordEventsInput, render Renderer) (inserted int, err error) {
	ctx, done := s.call(ctx, "RecordEvents", writes, s.recordTimeout)
	defer done(&err)
	snap, err := json.Marshal(in.Case)
	if err != nil {
		return 0, err
	}
	key := s.keys.sealing()
	parties := in.Case.PartyEmails()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		inserted = 0
		// Every column is the workflow's: a newer step restores any that
		// were changed behind its back before the row is sealed again.
		tag, err := tx.Exec(ctx, `
INSERT INTO cases (ref, policy, status, stage, due_at, urgent, category, raiser_agency, respondent_agency,
                   parties, created_at, closed_at, version, snapshot)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (ref) DO UPDATE SET
    policy = EXCLUDED.policy, status = EXCLUDED.status, stage = EXCLUDED.stage, due_at = EXCLUDED.due_at,
    urgent = EXCLUDED.urgent, category = EXCLUDED.category, raiser_agency = EXCLUDED.raiser_agency,
    respondent_agency = EXCLUDED.respondent_agency, parties = EXCLUDED.parties, created_at = EXCLUDED.created_at,
    closed_at = EXCLUDED.closed_at, version = EXCLUDED.version, snapshot = EXCLUDED.snapshot, updated_at = now()
WHERE cases.version < EXCLUDED.version`,
			in.Case.Ref, in.Case.Policy, in.Case.Status, in.Case.Stage.Number, in.Case.Stage.DueAt, in.Case.Urgent,
			in.Case.Category, in.Case.Raiser.Agency, in.Case.Respondent.Agency, parties, in.Case.CreatedAt,
			in.Case.ClosedAt, in.Case.Version, snap)
		if err != nil {
			return err
		}
		caseChanged := tag.RowsAffected() == 1
		// Writers of one case take turns, so each event chains to the one
		// written before it. The opening event's seal covers the case's
		// identity as PostgreSQL keeps it, which is what verification reads.
		var id caseIdentity
		if err := tx.QueryRow(ctx, `SELECT policy, coalesce(snapshot->>'child_ref', ''), coalesce(snapshot->>'summary', '')
			FROM cases WHERE ref = $1 FOR UPDATE`, in.Ref).Scan(&id.Policy, &id.ChildRef, &id.Summary); err != nil {
			return err
		}
		// Each new event is chained to the one written last, which is not
		// always the one numbered before it: two steps of one case may be
		// written concurrently (see verify).
		var prev []byte
		err = tx.QueryRow(ctx, `SELECT hash FROM events WHERE ref = $1 ORDER BY id DESC LIMIT 1`, in.Ref).Scan(&prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		for _, ev := range in.Events {
			ev.At = ev.At.Truncate(time.Microsecond) // what PostgreSQL keeps
			if ev.DueAt != nil {
				due := ev.DueAt.Truncate(time.Microsecond)
				ev.DueAt = &due
			}
			mac := key.eventMAC(sealV2, prev, in.Ref, ev, id)
			tag, err := tx.Exec(ctx, `
INSERT INTO events (ref, seq, run_id, at, type, stage, by_name, by_email, text, due_at,
                    from_stage, to_stage, move, step, level, agreed, resolved, closed_status, seal_version,
                    prev_hash, hash, key_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
ON CONFLICT (ref, seq) DO NOTHING`,
				in.Ref, ev.Seq, in.RunID, ev.At, ev.Type, ev.Stage, ev.By, ev.ByEmail, ev.Text, ev.DueAt,
				nullIfZero(ev.FromStage), nullIfZero(ev.ToStage), nullIfZero(ev.Move), nullIfZero(ev.Step), nullIfZero(ev.Level),
				ev.Agreed, ev.Resolved, nullIfZero(ev.ClosedStatus), sealV2,
				prev, mac, key.id)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				// Written before (a retried activity), or its place is taken.
				if err := sameEvent(ctx, tx, in.Ref, ev); err != nil {
					return err
				}
				continue
			}
			inserted++
			prev = mac
		}
		if inserted > 0 || caseChanged {
			if err := sealCase(ctx, tx, key, in.Ref); err != nil {
				return err
			}
		}
		switch {
		case in.Policy != nil:
			if err := insertCasePolicy(ctx, tx, in.Ref, *in.Policy); err != nil {
				return err
			}
		case in.PolicyHash != "":
			if err := insertCasePolicyByHash(ctx, tx, in.Ref, in.PolicyHash); err != nil {
				return err
			}
		}
		return insertNotifications(ctx, tx, in, render)
	})
	if err != nil {
		inserted = 0
	}
	return inserted, err
}

// sameEvent checks that the event the record holds at ev's place is ev: the
// same content again (a retry) is nothing to do; anything else is a
// *RecordConflictError, never a silent skip that would lose ev.
//
// An event that carries no structured field is an activity's input
// scheduled before events carried them, retried: the record may hold it
// with fields derived from it since (store/migrations/000013), and it is
// the same event if everything else is.
func sameEvent(ctx context.Context, tx pgx.Tx, ref string, ev workflows.Event) error {
	var scanned scannedEvent
	err := tx.QueryRow(ctx, `SELECT `+eventColumns+` FROM events WHERE ref = $1 AND seq = $2`, ref, ev.Seq).Scan(scanned.targets()...)
	got := scanned.event()
	if errors.Is(err, pgx.ErrNoRows) {
		return &RecordConflictError{Ref: ref, Seq: ev.Seq, Why: "its place was taken and then emptied while it was written"}
	}
	if err != nil {
		return err
	}
	sameDue := (got.DueAt == nil) == (ev.DueAt == nil) && (got.DueAt == nil || got.DueAt.Equal(*ev.DueAt))
	if !got.At.Equal(ev.At) || got.Type != ev.Type || got.Stage != ev.Stage || got.By != ev.By || got.ByEmail != ev.ByEmail ||
		got.Text != ev.Text || !sameDue || (hasStructured(ev) && !sameStructured(got, ev)) {
		return &RecordConflictError{Ref: ref, Seq: ev.Seq, Why: fmt.Sprintf(
			"the record already holds a different event with this number (%s at %s, where the case has %s at %s)",
			got.Type, got.At.UTC().Format(time.RFC3339Nano), ev.Type, ev.At.UTC().Format(time.RFC3339Nano))}
	}
	return nil
}

// sealCase seals the case row as PostgreSQL now holds it, with where its
// record ends (its number of events and the event written last), in the
// step's transaction.
func sealCase(ctx context.Context, tx pgx.Tx, key recordKey, ref string) error {
	c := sealedCase{Ref: ref}
	if err := tx.QueryRow(ctx, `SELECT `+sealedColumns+` FROM cases WHERE ref = $1`, ref).Scan(c.scanTargets()...); err != nil {
		return err
	}
	err := tx.QueryRow(ctx, `SELECT count(*) OVER (), seq, hash FROM events WHERE ref = $1 ORDER BY id DESC LIMIT 1`, ref).
		Scan(&c.Events, &c.LastSeq, &c.LastHash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE cases SET seal = $2, seal_key_id = $3 WHERE ref = $1`, ref, key.caseMAC(c), key.id)
	return err
}

// sameStructured reports whether two events carry the same structured
// fields.
func sameStructured(a, b workflows.Event) bool {
	sameResolved := (a.Resolved == nil) == (b.Resolved == nil) && (a.Resolved == nil || *a.Resolved == *b.Resolved)
	return a.FromStage == b.FromStage && a.ToStage == b.ToStage && a.Move == b.Move && a.Step == b.Step && a.Level == b.Level &&
		a.Agreed == b.Agreed && sameResolved && a.ClosedStatus == b.ClosedStatus
}

func eventBySeq(events []workflows.Event, seq int) (workflows.Event, bool) {
	for _, e := range events {
		if e.Seq == seq {
			return e, true
		}
	}
	return workflows.Event{}, false
}

// GetCase returns a case with its history from the record.
func (s *Store) GetCase(ctx context.Context, ref string) (_ workflows.Case, err error) {
	ctx, done := s.call(ctx, "GetCase", reads, s.timeout)
	defer done(&err)
	var snap []byte
	err = s.pool.QueryRow(ctx, `SELECT snapshot FROM cases WHERE ref = $1`, ref).Scan(&snap)
	if errors.Is(err, pgx.ErrNoRows) {
		return workflows.Case{}, ErrNotFound
	}
	if err != nil {
		return workflows.Case{}, err
	}
	var c workflows.Case
	if err := json.Unmarshal(snap, &c); err != nil {
		return workflows.Case{}, err
	}
	c.History, err = s.Events(ctx, ref)
	if err != nil {
		return workflows.Case{}, err
	}
	markOverdue(&c, time.Now())
	return c, nil
}

// Events returns a case's record in order.
func (s *Store) Events(ctx context.Context, ref string) (_ []workflows.Event, err error) {
	ctx, done := s.call(ctx, "Events", reads, s.timeout)
	defer done(&err)
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE ref = $1 ORDER BY seq`, ref)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (workflows.Event, error) {
		var x scannedEvent
		err := r.Scan(x.targets()...)
		return x.event(), err
	})
}

// markOverdue sets overdue for an open case whose deadline has passed
// (policies.Overdue).
func markOverdue(c *workflows.Case, now time.Time) {
	if policies.Overdue(c.Closed(), c.Stage.DueAt, now) {
		c.Stage.Overdue = true
	}
}

// overdueSQL is policies.Overdue over a cases row, now being the SQL
// expression of the instant (a parameter). TestOverdueSQLAgrees proves
// they agree.
func overdueSQL(now string) string {
	return "(closed_at IS NULL AND due_at < " + now + ")"
}

// readableSQL is the read rule (cases.CanRead) over a cases row, for one
// viewer, with its arguments numbered from the next free parameter: the
// condition is written for the viewer's role, so the parties GIN index
// (and the agency indexes for a manager) can serve it. TestReadRuleAgrees
// proves it matches cases.CanRead.
func readableSQL(v Viewer, args *[]any) string {
	param := func(x any) string {
		*args = append(*args, x)
		return fmt.Sprintf("$%d", len(*args))
	}
	party := func() string {
		email := strings.ToLower(strings.TrimSpace(v.Email))
		if email == "" {
			return "FALSE"
		}
		return "parties @> ARRAY[" + param(email) + "::text]"
	}
	switch v.Role {
	case "admin":
		return "TRUE"
	case "partnership":
		if v.Agency != "" {
			return "(policy = " + param(v.Agency) + " OR " + party() + ")"
		}
	case "manager":
		if v.Agency != "" {
			a := param(v.Agency)
			return "(" + party() + " OR raiser_agency = " + a + " OR respondent_agency = " + a + ")"
		}
	}
	return party()
}

// Viewer is who is listing cases, for the read rule.
type Viewer struct {
	Email  string
	Agency string
	Role   string
}

// ListFilter narrows a case list. Zero values mean "any".
type ListFilter struct {
	Status  string
	Policy  string
	Stage   int
	Agency  string
	Overdue *bool
	// Open: true lists the cases not yet closed (whatever their status),
	// false the closed ones; nil both.
	Open  *bool
	Limit int
	// After is the keyset position (created_at, ref) of the last case seen.
	AfterCreated time.Time
	AfterRef     string
}

// ListCases returns the cases the viewer may read, newest first, and whether
// there are more.
func (s *Store) ListCases(ctx context.Context, v Viewer, f ListFilter) (_ []workflows.Case, _ bool, err error) {
	ctx, done := s.call(ctx, "ListCases", reads, s.timeout)
	defer done(&err)
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	now := time.Now()
	query, args := listCasesQuery(v, f, now, limit)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, false, err
	}
	return collectPage(rows, now, limit)
}

// listCasesQuery is ListCases' query for the viewer and filter: the read
// rule written for the viewer's role, then the filters, newest first.
func listCasesQuery(v Viewer, f ListFilter, now time.Time, limit int) (string, []any) {
	var overdue any
	if f.Overdue != nil {
		overdue = *f.Overdue
	}
	var afterCreated any
	if f.AfterRef != "" {
		afterCreated = f.AfterCreated
	}
	var open any
	if f.Open != nil {
		open = *f.Open
	}
	args := []any{f.Status, f.Policy, f.Stage, f.Agency, overdue, now, afterCreated, f.AfterRef, limit + 1, open}
	return `
SELECT snapshot FROM cases
WHERE ` + readableSQL(v, &args) + `
  AND ($1 = '' OR status = $1)
  AND ($2 = '' OR policy = $2)
  AND ($3 = 0 OR stage = $3)
  AND ($4 = '' OR raiser_agency = $4 OR respondent_agency = $4)
  AND ($5::boolean IS NULL OR $5 = ` + overdueSQL("$6") + `)
  AND ($7::timestamptz IS NULL OR (created_at, ref) < ($7, $8))
  AND ($10::boolean IS NULL OR $10 = (closed_at IS NULL))
ORDER BY created_at DESC, ref DESC
LIMIT $9`, args
}

// ---- tokens ----

// Token is a bearer token's person; the secret itself is never stored.
type Token struct {
	ID        string
	Name      string
	Email     string
	Agency    string
	Role      string
	CreatedAt time.Time
	CreatedBy string
	ExpiresAt *time.Time
	RevokedAt *time.Time
}

// CreateToken stores a token's hash and person.
func (s *Store) CreateToken(ctx context.Context, t Token, hash []byte) (_ Token, err error) {
	ctx, done := s.call(ctx, "CreateToken", writes, s.timeout)
	defer done(&err)
	err = s.pool.QueryRow(ctx, `INSERT INTO tokens (id, hash, name, email, agency, role, created_by, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at`,
		t.ID, hash, t.Name, t.Email, t.Agency, t.Role, t.CreatedBy, t.ExpiresAt).Scan(&t.CreatedAt)
	return t, err
}

// TokenByHash finds a token by the hash of its secret.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (_ Token, err error) {
	ctx, done := s.call(ctx, "TokenByHash", reads, s.timeout)
	defer done(&err)
	var t Token
	err = s.pool.QueryRow(ctx, `SELECT id, name, email, agency, role, created_at, created_by, expires_at, revoked_at
		FROM tokens WHERE hash = $1`, hash).Scan(&t.ID, &t.Name, &t.Email, &t.Agency, &t.Role, &t.CreatedAt,
		&t.CreatedBy, &t.ExpiresAt, &t.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, ErrNotFound
	}
	return t, err
}

// RevokeToken marks a token revoked; revoking twice is harmless. It returns
// ErrNotFound for an unknown id.
func (s *Store) RevokeToken(ctx context.Context, id string) (err error) {
	ctx, done := s.call(ctx, "RevokeToken", writes, s.timeout)
	defer done(&err)
	tag, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// collectPage reads a page of case snapshots (one jsonb column a row, the
// query asking for limit+1 rows), each marked overdue as of now; more says
// a next page has at least one.
func collectPage(rows pgx.Rows, now time.Time, limit int) (_ []workflows.Case, more bool, _ error) {
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (workflows.Case, error) {
		var snap []byte
		if err := r.Scan(&snap); err != nil {
			return workflows.Case{}, err
		}
		var c workflows.Case
		if err := json.Unmarshal(snap, &c); err != nil {
			return workflows.Case{}, err
		}
		markOverdue(&c, now)
		return c, nil
	})
	if err != nil {
		return nil, false, err
	}
	if len(list) > limit {
		return list[:limit], true, nil
	}
	return list, false, nil
}
