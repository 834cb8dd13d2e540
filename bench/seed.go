package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"escalate/cases"
	"escalate/workflows"
)

// Opening thousands of cases for the storm and memory phases. Through the
// API a case start waits until its opening is recorded (about 12 a second
// on a shared two-core machine, closed loop), so the two phases can also
// open their cases by the case workflow's own start ("direct"): the same
// workflow input the API builds (reference from the store's counter, the
// policy snapshot, the raiser and respondent as the API names them), the
// same start options (search attributes, memo, summary, ID policies), and
// the opening recorded and notified by the workflow as for any case. What
// is left out is the opening update the API waits on, which only answers.
// checkDirect compares one case opened each way before a run relies on it.
var (
	seedVia    string
	seedWindow int
)

func init() {
	flag.StringVar(&seedVia, "seed", "direct", "how the storm and memory phases open their cases: api (POST /v1/cases with an Idempotency-Key, a 503 retried) "+
		"or direct (the case workflow's start with the input the API builds); -seed-window at a time")
	flag.IntVar(&seedWindow, "seed-window", 48, "cases being opened at once while seeding (their opening not yet recorded)")
}

// seedRetries counts the opens tried again, for the whole run.
var seedRetries atomic.Int64

// seedStats is how a seeding went: cases a second from first start to
// last recorded, and the retries it took.
type seedStats struct {
	n       int
	took    time.Duration
	retries int64
}

func (s seedStats) rate() float64 { return float64(s.n) / s.took.Seconds() }

// seedCases opens n cases of the bench policy (stage-1 deadline due, if
// set) as seedVia says, window at a time, and returns their references
// once every opening is recorded and its notifications have gone. every,
// if set, is called after each k-th case (the memory phase reads the
// worker's RSS there).
//
// With a due, opening stops 20 seconds before it: the cases opened by
// then are the storm's (the run says how many), rather than a run of
// tens of minutes failing because the machine slowed down meanwhile.
func (b *bench) seedCases(ctx context.Context, n int, due *time.Time, every int, at func(opened int)) ([]string, seedStats, error) {
	var stopBy time.Time
	if due != nil {
		stopBy = due.Add(-20 * time.Second)
	}
	return b.seedUntil(ctx, n, due, stopBy, every, at)
}

// seedCasesWithin is seedCases with no deadline that opens no more after
// within (0: no limit).
func (b *bench) seedCasesWithin(ctx context.Context, n int, within time.Duration, every int, at func(opened int)) ([]string, seedStats, error) {
	var stopBy time.Time
	if within > 0 {
		stopBy = time.Now().Add(within)
	}
	return b.seedUntil(ctx, n, nil, stopBy, every, at)
}

func (b *bench) seedUntil(ctx context.Context, n int, due *time.Time, stopBy time.Time, every int, at func(int)) ([]string, seedStats, error) {
	var retries atomic.Int64
	var open func(ctx context.Context, i int) (string, error)
	switch seedVia {
	case "api":
		open = func(ctx context.Context, i int) (string, error) { return b.openViaAPI(ctx, i, due, &retries) }
	case "direct":
		w := newRecordWatch(b)
		defer w.stop()
		open = func(ctx context.Context, i int) (string, error) {
			ref, err := b.openDirect(ctx, i, due)
			if err != nil {
				return "", err
			}
			return ref, w.wait(ctx, ref)
		}
	default:
		return nil, seedStats{}, fmt.Errorf("-seed %q: api or direct", seedVia)
	}
	start := time.Now()
	refs, err := b.seedWindowed(ctx, n, seedWindow, stopBy, open, every, at)
	if err != nil {
		return nil, seedStats{}, err
	}
	st := seedStats{n: len(refs), took: time.Since(start), retries: retries.Load() + seedRetries.Load()}
	if err := b.settleNotifications(ctx, refs); err != nil {
		return nil, st, err
	}
	return refs, st, nil
}

// seedWindowed runs open for 0..n-1 from window clients, closed loop, and
// prints how far it is every 15 seconds; after stopBy (unless zero) it
// opens no more, and answers with those opened.
func (b *bench) seedWindowed(ctx context.Context, n, window int, stopBy time.Time, open func(ctx context.Context, i int) (string, error), every int, at func(int)) ([]string, error) {
	refs := make([]string, n)
	var next, done atomic.Int64
	var mu sync.Mutex
	var first error
	start := time.Now()
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				d := done.Load()
				fmt.Printf("    seeding: %d of %d open (%.1f/s), load %s\n", d, n, float64(d)/time.Since(start).Seconds(), loadavg())
			}
		}
	}()
	defer close(stopProgress)
	var wg sync.WaitGroup
	for c := 0; c < window; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				mu.Lock()
				stop := i >= n || first != nil || (!stopBy.IsZero() && time.Now().After(stopBy))
				mu.Unlock()
				if stop {
					return
				}
				ref, err := open(ctx, c)
				for attempt := 1; err != nil && ctx.Err() == nil && attempt < 6; attempt++ {
					// A start that failed on an overloaded machine (a
					// timeout, a reset stream) is tried again; each opener
					// joins what an earlier try started.
					seedRetries.Add(1)
					time.Sleep(time.Duration(attempt) * 2 * time.Second)
					ref, err = open(ctx, c)
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				refs[i] = ref
				if d := done.Add(1); at != nil && every > 0 && d%int64(every) == 0 {
					at(int(d))
				}
			}
		}(c)
	}
	wg.Wait()
	if first != nil {
		return nil, fmt.Errorf("seeding: %w", first)
	}
	opened := refs[:0]
	for _, r := range refs {
		if r != "" {
			opened = append(opened, r)
		}
	}
	return opened, ctx.Err()
}

// openViaAPI is POST /v1/cases with an Idempotency-Key, repeated with the
// same key when the API answers 503 or the request fails on the way (the
// contract's answer to "Temporal did not confirm in time"), as a careful
// client would.
func (b *bench) openViaAPI(ctx context.Context, i int, due *time.Time, retries *atomic.Int64) (string, error) {
	body := b.startBody(due)
	key := randomKey()
	for attempt := 1; ; attempt++ {
		var c workflows.Case
		code, err := b.callWith(ctx, "POST", "/v1/cases", b.raisers[i%len(b.raisers)], map[string]string{"Idempotency-Key": key}, body, &c)
		if err == nil {
			return c.Ref, nil
		}
		if ctx.Err() != nil || attempt == 10 || (code != 0 && code != http.StatusServiceUnavailable) {
			return "", err
		}
		retries.Add(1)
		time.Sleep(time.Duration(attempt) * time.Second)
	}
}

func randomKey() string {
	var k [16]byte
	_, _ = rand.Read(k[:])
	return hex.EncodeToString(k[:])
}

// cases is the case service the API runs, over the bench's store and
// client, for the parts of a start direct seeding shares with it.
func (b *bench) cases() *cases.Service {
	b.svcOnce.Do(func() {
		b.svc = cases.NewService(cases.Config{Store: b.sys.store, Temporal: b.sys.temporal, Policies: b.sys.pols, Log: b.sys.log})
	})
	return b.svc
}

// openDirect starts a case's workflow as cases.Service.Start does for the
// API (cases/start.go: startCase) but without waiting: it answers with
// the reference once Temporal has the workflow.
func (b *bench) openDirect(ctx context.Context, i int, due *time.Time) (string, error) {
	svc := b.cases()
	pol, ok := svc.Policy("bench")
	if !ok {
		return "", errors.New("no bench policy")
	}
	now := svc.Now()
	year := cases.LocalNow(pol, now).Year()
	pol, err := svc.SnapshotPolicy(ctx, pol, now)
	if err != nil {
		return "", err
	}
	ref, err := b.sys.store.NextRef(ctx, pol.RefPrefix, year)
	if err != nil {
		return "", err
	}
	body := b.startBody(due)
	k := i % len(b.raisers)
	in := workflows.CaseInput{
		Ref: ref, Policy: pol, ChildRef: body["child_ref"].(string), Category: benchCategory,
		Summary: benchSummary, DueAt: due, RequestID: "r-" + randomKey(),
		Raiser:     workflows.Party{Name: fmt.Sprintf("Raiser %d", k), Email: fmt.Sprintf("raiser-%d@nhft.example", k), Agency: "nhft", Role: "practitioner"},
		Respondent: workflows.Party{Name: "Sam Social", Email: "sam@nct.example", Agency: "nct"},
	}
	_, err = b.sys.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       ref,
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:            fmt.Sprintf("%s · %s · child ref %s", pol.Name, in.Category, in.ChildRef),
		TypedSearchAttributes:    workflows.StartSearchAttributes(in),
		Memo:                     map[string]any{"escalate_request": in.RequestID},
	}, workflows.CaseWorkflowName, in)
	if err != nil {
		// Not answered in time, the start may still have been taken.
		if _, derr := b.sys.temporal.DescribeWorkflowExecution(ctx, ref, ""); derr == nil {
			return ref, nil
		}
	}
	return ref, err
}

// recordWatch tells waiting openers when their case's opening is in the
// record: one query for all of them every 200 ms.
type recordWatch struct {
	b       *bench
	mu      sync.Mutex
	waiting map[string]chan struct{}
	quit    chan struct{}
}

func newRecordWatch(b *bench) *recordWatch {
	w := &recordWatch{b: b, waiting: map[string]chan struct{}{}, quit: make(chan struct{})}
	go w.loop()
	return w
}

func (w *recordWatch) stop() { close(w.quit) }

func (w *recordWatch) wait(ctx context.Context, ref string) error {
	ch := make(chan struct{})
	w.mu.Lock()
	w.waiting[ref] = ch
	w.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("case %s: opening not recorded after 5 minutes", ref)
	}
}

func (w *recordWatch) loop() {
	for {
		select {
		case <-w.quit:
			return
		case <-time.After(200 * time.Millisecond):
		}
		w.mu.Lock()
		refs := make([]string, 0, len(w.waiting))
		for r := range w.waiting {
			refs = append(refs, r)
		}
		w.mu.Unlock()
		if len(refs) == 0 {
			continue
		}
		rows, err := w.b.sys.db.Query(context.Background(), `SELECT ref FROM cases WHERE ref = ANY($1)`, refs)
		if err != nil {
			continue
		}
		var got []string
		for rows.Next() {
			var r string
			if rows.Scan(&r) == nil {
				got = append(got, r)
			}
		}
		rows.Close()
		w.mu.Lock()
		for _, r := range got {
			if ch, ok := w.waiting[r]; ok {
				close(ch)
				delete(w.waiting, r)
			}
		}
		w.mu.Unlock()
	}
}

// settleNotifications waits (at most five minutes) until no notification
// of refs is waiting to be sent: the opening's mail is out before anything
// is measured.
func (b *bench) settleNotifications(ctx context.Context, refs []string) error {
	for end := time.Now().Add(5 * time.Minute); ; {
		var pending int
		if err := b.sys.db.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE ref = ANY($1) AND status NOT IN ('sent', 'logged', 'failed')`, refs).Scan(&pending); err != nil {
			return err
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("%d notifications of the opened cases still waiting after 5 minutes", pending)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// checkDirect opens one case through the API and one directly and
// compares what each left: its record's events, its notifications, its
// search attributes and memo in Temporal. A difference stops the run:
// direct seeding would not be measuring escalate's cases.
func (b *bench) checkDirect(ctx context.Context, due *time.Time) error {
	if seedVia != "direct" || b.directChecked {
		return nil
	}
	b.directChecked = true
	viaAPI, err := b.openViaAPI(ctx, 0, due, new(atomic.Int64))
	if err != nil {
		return err
	}
	w := newRecordWatch(b)
	defer w.stop()
	direct, err := b.openDirect(ctx, 0, due)
	if err != nil {
		return err
	}
	if err := w.wait(ctx, direct); err != nil {
		return err
	}
	if err := b.settleNotifications(ctx, []string{viaAPI, direct}); err != nil {
		return err
	}
	a, err := b.caseShape(ctx, viaAPI)
	if err != nil {
		return err
	}
	d, err := b.caseShape(ctx, direct)
	if err != nil {
		return err
	}
	if a != d {
		return fmt.Errorf("a case opened directly differs from one opened through the API:\n  API:    %s\n  direct: %s", a, d)
	}
	fmt.Printf("  direct seeding checked: %s and %s alike (%s)\n", viaAPI, direct, a)
	return nil
}

// caseShape is what a case left, without what differs between any two
// cases (reference, times, child reference).
func (b *bench) caseShape(ctx context.Context, ref string) (string, error) {
	var parts []string
	rows, err := b.sys.db.Query(ctx, `SELECT e.seq, e.type, coalesce(e.stage, 0),
  (SELECT string_agg(n.recipient_email || '/' || n.channel || '/' || n.status, ',' ORDER BY n.recipient_email, n.channel)
     FROM notifications n WHERE n.ref = e.ref AND n.seq = e.seq)
FROM events e WHERE e.ref = $1 ORDER BY e.seq`, ref)
	if err != nil {
		return "", err
	}
	for rows.Next() {
		var seq, stage int
		var typ string
		var notes *string
		if err := rows.Scan(&seq, &typ, &stage, &notes); err != nil {
			rows.Close()
			return "", err
		}
		s := fmt.Sprintf("%d:%s@%d", seq, typ, stage)
		if notes != nil {
			s += "[" + *notes + "]"
		}
		parts = append(parts, s)
	}
	rows.Close()
	var status, policy string
	var stage int
	if err := b.sys.db.QueryRow(ctx, `SELECT status, policy, stage FROM cases WHERE ref = $1`, ref).Scan(&status, &policy, &stage); err != nil {
		return "", err
	}
	parts = append(parts, fmt.Sprintf("case %s/%s/stage %d", policy, status, stage))
	desc, err := b.sys.temporal.DescribeWorkflowExecution(ctx, ref, "")
	if err != nil {
		return "", err
	}
	info := desc.GetWorkflowExecutionInfo()
	var sa []string
	for k, p := range info.GetSearchAttributes().GetIndexedFields() {
		v := "set"
		if !strings.Contains(k, "Due") && !strings.Contains(k, "At") {
			var x any
			if err := converter.GetDefaultDataConverter().FromPayload(p, &x); err == nil {
				v = fmt.Sprint(x)
			}
		}
		sa = append(sa, k+"="+v)
	}
	slices.Sort(sa)
	var memo []string
	for k := range info.GetMemo().GetFields() {
		memo = append(memo, k)
	}
	slices.Sort(memo)
	parts = append(parts, "search "+strings.Join(sa, ","), "memo "+strings.Join(memo, ","), "type "+info.GetType().GetName())
	return strings.Join(parts, " "), nil
}
