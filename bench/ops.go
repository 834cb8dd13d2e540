package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"escalate/cases"
	"escalate/workflows"
)

// bench is what the phases share: the system, its callers' tokens, and a
// counter that keeps every workflow ID and child reference unique.
type bench struct {
	sys        *system
	http       *http.Client
	raisers    []string // one token per client
	respondent string   // the respondent's token (sam@nct.example)
	partner    string   // a partnership token, for the report
	seq        atomic.Int64
	// sameRate is the engine's same-shape starts a second, closed loop,
	// at the first client count.
	sameRate float64
	// recent are the latest starts' workflow IDs.
	recent recentIDs
	// svc is the case service direct seeding shares with the API (seed.go).
	svcOnce sync.Once
	svc     *cases.Service
	// directChecked: checkDirect has compared the two ways of opening.
	directChecked bool
}

func newBench(sys *system, clients int) (*bench, error) {
	b := &bench{sys: sys, http: &http.Client{
		Timeout:   2 * time.Minute,
		Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute},
	}}
	for i := 0; i < clients; i++ {
		tok, err := b.token(fmt.Sprintf("Raiser %d", i), fmt.Sprintf("raiser-%d@nhft.example", i), "nhft", "practitioner")
		if err != nil {
			return nil, err
		}
		b.raisers = append(b.raisers, tok)
	}
	var err error
	if b.respondent, err = b.token("Sam Social", "sam@nct.example", "nct", "practitioner"); err != nil {
		return nil, err
	}
	if b.partner, err = b.token("Pat Partnership", "pat@nscp.example.org", "bench", "partnership"); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *bench) token(name, email, agency, role string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	code, err := b.call(context.Background(), "POST", "/v1/admin/tokens", benchAdminToken,
		map[string]string{"name": name, "email": email, "agency": agency, "role": role}, &out)
	if err != nil {
		return "", err
	}
	if code != http.StatusCreated {
		return "", fmt.Errorf("create token %s: %d", email, code)
	}
	return out.Token, nil
}

// call sends a JSON request to the API and decodes its answer into out.
func (b *bench) call(ctx context.Context, method, path, token string, body, out any) (int, error) {
	return b.callWith(ctx, method, path, token, nil, body, out)
}

// callWith is call with extra request headers (an Idempotency-Key).
func (b *bench) callWith(ctx context.Context, method, path, token string, header map[string]string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.sys.apiURL+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, err
		}
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %.200s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, nil
}

// startCase opens a case through the API as client i; due, if set, is
// its stage-1 deadline.
func (b *bench) startCase(ctx context.Context, i int, due *time.Time) (workflows.Case, error) {
	var c workflows.Case
	_, err := b.call(ctx, "POST", "/v1/cases", b.raisers[i%len(b.raisers)], b.startBody(due), &c)
	if err == nil {
		b.recent.add(c.Ref)
	}
	return c, err
}

// Every bench case is raised with this request (child_ref aside).
const (
	benchCategory = "threshold-csc-assessment"
	benchSummary  = "Referral judged below threshold; the health visitor disagrees."
)

func (b *bench) startBody(due *time.Time) map[string]any {
	n := b.seq.Add(1)
	body := map[string]any{
		"policy": "bench", "child_ref": fmt.Sprintf("BENCH/%d", n), "category": benchCategory,
		"summary":    benchSummary,
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"},
	}
	if due != nil {
		body["due_at"] = due.UTC().Format(time.RFC3339)
	}
	return body
}

func (b *bench) note(ctx context.Context, i int, ref string) error {
	_, err := b.call(ctx, "POST", "/v1/cases/"+ref+"/notes", b.raisers[i%len(b.raisers)],
		map[string]string{"text": "Called the duty social worker; waiting for a call back."}, nil)
	return err
}

// agree proposes an agreed outcome as the raiser and confirms it as the
// respondent: the case closes, agreed.
func (b *bench) agree(ctx context.Context, i int, ref string) error {
	if _, err := b.call(ctx, "POST", "/v1/cases/"+ref+"/agreement", b.raisers[i%len(b.raisers)],
		map[string]any{"outcome": "Assessment to go ahead this week.", "learning": ""}, nil); err != nil {
		return err
	}
	_, err := b.call(ctx, "POST", "/v1/cases/"+ref+"/agreement/confirm", b.respondent, nil, nil)
	return err
}

// engineStart is the engine's update-with-start: a workflow started with
// an update that runs one no-op activity, answered once it has run (the
// shape of an escalate start, with nothing of escalate in it).
func (b *bench) engineStart(ctx context.Context, due *time.Time) (string, error) {
	return b.engineOpen(ctx, due, true)
}

// engineOpen is engineStart whose update runs the no-op activity or
// nothing (answered once the first workflow task has run): the storm and
// memory phases open thousands this way, where only the workflow being
// open and its deadline matter.
func (b *bench) engineOpen(ctx context.Context, due *time.Time, activity bool) (string, error) {
	id := fmt.Sprintf("engine-%d", b.seq.Add(1))
	start := b.sys.temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID: id, TaskQueue: engineQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
	}, engineWorkflow, EngineInput{DueAt: due})
	h, err := b.sys.temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: engineUpdate,
			Args: []any{TouchInput{Activity: activity}}, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		// Not answered in time, the start may still have been taken:
		// then it is this one's (no second workflow with a deadline).
		if _, derr := b.sys.temporal.DescribeWorkflowExecution(ctx, id, ""); derr == nil {
			return id, b.engineTouch(ctx, id, false)
		}
		return "", err
	}
	b.recent.add(id)
	return id, nil
}

// plainStart is client.ExecuteWorkflow: the start is accepted, nothing
// waits for the workflow to run.
func (b *bench) plainStart(ctx context.Context) error {
	id := fmt.Sprintf("plain-%d", b.seq.Add(1))
	_, err := b.sys.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: engineQueue}, engineWorkflow, EngineInput{})
	return err
}

// engineUpdate sends one update to an engine workflow, answered once its
// handler has finished (with the no-op activity, or with nothing).
func (b *bench) engineTouch(ctx context.Context, id string, activity bool) error {
	h, err := b.sys.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: engineUpdate,
		Args: []any{TouchInput{Activity: activity}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return err
	}
	return h.Get(ctx, nil)
}

// getCase reads a case through the API as its respondent (a party to
// every bench case).
func (b *bench) getCase(ctx context.Context, ref string) error {
	_, err := b.call(ctx, "GET", "/v1/cases/"+ref, b.respondent, nil, nil)
	return err
}

// historyShape is a workflow's history as the server sends it: its
// events, their bytes, and event by event (type, activity, bytes).
type historyShape struct {
	events, bytes int
	detail        string
	// timedOut and failed count workflow tasks that timed out (a sticky
	// task not picked up in time is sent again, with the whole history,
	// to the normal queue) or failed.
	timedOut, failed int
}

// history reads a workflow's history.
func (b *bench) history(ctx context.Context, id string) (historyShape, error) {
	var h historyShape
	var parts []string
	it := b.sys.temporal.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return h, err
		}
		n := proto.Size(ev)
		h.events++
		h.bytes += n
		name := strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_")
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			name += "(" + a.GetActivityType().GetName() + ")"
		}
		if a := ev.GetMarkerRecordedEventAttributes(); a != nil {
			name += "(" + a.GetMarkerName() + ")"
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
			h.timedOut++
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			h.failed++
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, n))
	}
	h.detail = strings.Join(parts, ", ")
	return h, nil
}

// recentIDs keeps the workflow IDs of the latest starts (the API's and
// the engine's), for the task trouble of a round (taskTrouble).
type recentIDs struct {
	mu  sync.Mutex
	ids []string
}

func (r *recentIDs) add(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ids) < 100_000 {
		r.ids = append(r.ids, id)
	}
}

// take returns up to n of the IDs added since the last take, spread over
// them, and forgets them all.
func (r *recentIDs) take(n int) []string {
	r.mu.Lock()
	ids := r.ids
	r.ids = nil
	r.mu.Unlock()
	if len(ids) <= n {
		return ids
	}
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, ids[i*len(ids)/n])
	}
	return out
}

// taskTrouble reads the histories of up to n workflows started since the
// last call and says how many of their workflow tasks timed out or failed.
func (b *bench) taskTrouble(ctx context.Context, n int) string {
	ids := b.recent.take(n)
	var timedOut, failed, events, read int
	for _, id := range ids {
		h, err := b.history(ctx, id)
		if err != nil {
			continue
		}
		read++
		timedOut += h.timedOut
		failed += h.failed
		events += h.events
	}
	return fmt.Sprintf("histories of %d of its workflows: %d workflow tasks timed out, %d failed (%.1f events each)",
		read, timedOut, failed, safeDiv(float64(events), float64(read)))
}

// casesOpened says how many cases the record holds whose opening fell in
// an API measurement, beside the starts answered: a start the API stopped
// waiting for (503, Temporal did not confirm in time) still opens its
// case, and costs the dev server as much as one answered.
func (b *bench) casesOpened(ctx context.Context, res result) string {
	var n int
	if err := b.sys.db.QueryRow(ctx, `SELECT count(*) FROM cases WHERE created_at >= $1 AND created_at < $2`, res.from, res.to).Scan(&n); err != nil {
		return "cases opened: " + err.Error()
	}
	return fmt.Sprintf("cases opened in the measured %.0f s: %d (%.1f/s) for %d starts answered and %d failed; dev-server CPU per case opened %.1f ms",
		res.to.Sub(res.from).Seconds(), n, float64(n)/res.to.Sub(res.from).Seconds(), res.OK, res.Failed, safeDiv(res.DevCPUTotalMs, float64(n)))
}
