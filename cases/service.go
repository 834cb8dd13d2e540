package cases

import (
	"context"
	"log/slog"
	"regexp"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// Service starts cases and acts on them: the one place the procedure's
// requests are checked, sent to a case's workflow and answered, for the
// JSON API and the pages alike. Its refusals are *Error; any other error
// is a dependency that failed (the callers say unavailable or internal).
type Service struct {
	store    *store.Store
	temporal client.Client
	policies *policies.Registry
	log      *slog.Logger
	now      func() time.Time
	dc       converter.DataConverter
	gate     *gate
}

// Config is what NewService needs.
type Config struct {
	Store    *store.Store
	Temporal client.Client
	Policies *policies.Registry
	Log      *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// DataConverter reads workflow memos (through the payload codec when
	// there is one); nil is Temporal's default.
	DataConverter converter.DataConverter
	// MaxInFlight is how many changes (starts, actions) this process has
	// at Temporal at once; the rest wait their turn for up to AdmitWait
	// (admit.go). 0 is DefaultMaxInFlight, negative no limit.
	MaxInFlight int
	AdmitWait   time.Duration
}

// NewService builds the service.
func NewService(cfg Config) *Service {
	s := &Service{store: cfg.Store, temporal: cfg.Temporal, policies: cfg.Policies, log: cfg.Log, now: cfg.Now, dc: cfg.DataConverter,
		gate: newGate(cfg.MaxInFlight, cfg.AdmitWait)}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.dc == nil {
		s.dc = converter.GetDefaultDataConverter()
	}
	return s
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Policy is the policy id, if loaded.
func (s *Service) Policy(id string) (policies.Policy, bool) {
	if s.policies == nil {
		return policies.Policy{}, false
	}
	return s.policies.Get(id)
}

// temporalTimeout bounds how long a request waits for Temporal to answer.
const temporalTimeout = 20 * time.Second

// temporalCheckTimeout bounds the health check before a change.
const temporalCheckTimeout = 3 * time.Second

// RefPattern is what a case reference in a path may be: the references
// made are PREFIX-YEAR-NUMBER in capitals and digits.
var RefPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

type requestIDKey struct{}

// WithRequestID names the request in the service's logs.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Load reads the case ref and applies allowed (nil: CanRead). A case the
// person may not read is ErrNotFound, whether it exists or not, so
// references cannot be probed; one they may read but not act on in this
// way is ErrForbidden.
func (s *Service) Load(ctx context.Context, me Principal, ref string, allowed func(Principal, workflows.Case) bool) (workflows.Case, error) {
	if !RefPattern.MatchString(ref) {
		return workflows.Case{}, ErrNotFound
	}
	cs, err := s.store.GetCase(ctx, ref)
	if err != nil {
		if e, ok := AsError(err); ok {
			return workflows.Case{}, e
		}
		return workflows.Case{}, err
	}
	if allowed == nil {
		allowed = CanRead
	}
	if !allowed(me, cs) {
		if CanRead(me, cs) {
			return workflows.Case{}, ErrForbidden
		}
		return workflows.Case{}, ErrNotFound
	}
	return cs, nil
}

// TemporalReachable is ErrUnavailable, before anything is written or sent,
// when Temporal does not answer a health check.
func (s *Service) TemporalReachable(ctx context.Context) error {
	if s.temporal == nil {
		return ErrUnavailable
	}
	cctx, cancel := context.WithTimeout(ctx, temporalCheckTimeout)
	defer cancel()
	if _, err := s.temporal.CheckHealth(cctx, &client.CheckHealthRequest{}); err != nil {
		s.log.WarnContext(ctx, "dependency unavailable", "request_id", requestID(ctx), "dependency", "temporal", "error", err)
		return ErrUnavailable
	}
	return nil
}

// parseTime reads an RFC 3339 time given in field.
func parseTime(field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, InvalidField(field, "must be an RFC 3339 time with an offset, e.g. 2026-12-30T17:00:00Z")
	}
	return t, nil
}
