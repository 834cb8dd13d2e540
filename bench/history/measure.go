package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"escalate/policies"
	escworker "escalate/worker"
	"escalate/workflows"
)

// stubs stand in for the PostgreSQL and mail activities: the history the
// workflow writes in Temporal does not depend on what they do, only on what
// they are given and answer.
type stubs struct{}

func (stubs) RecordEvents(_ context.Context, in workflows.RecordEventsInput) (workflows.RecordEventsResult, error) {
	return workflows.RecordEventsResult{Inserted: len(in.Events)}, nil
}

func (stubs) DeliverNotifications(_ context.Context, in workflows.DeliverNotificationsInput) (workflows.DeliverNotificationsResult, error) {
	return workflows.DeliverNotificationsResult{Logged: len(in.Seqs)}, nil
}

func (stubs) SettleNotifications(context.Context, workflows.SettleNotificationsInput) (workflows.SettleNotificationsResult, error) {
	return workflows.SettleNotificationsResult{}, nil
}

func (stubs) Cancellation(context.Context, workflows.CancellationInput) (workflows.CancellationResult, error) {
	return workflows.CancellationResult{}, nil
}

func (stubs) RecordedSeq(context.Context, workflows.RecordedSeqInput) (workflows.RecordedSeqResult, error) {
	return workflows.RecordedSeqResult{}, nil
}

// server is a Temporal dev server with a worker running the case workflow.
type server struct {
	dev    *testsuite.DevServer
	client client.Client
	worker worker.Worker
	policy policies.Policy
}

// start starts the dev server from the CLI at cli, with extra arguments.
func start(ctx context.Context, cli string, extra ...string) (*server, error) {
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  cli,
		ClientOptions: &client.Options{Namespace: "default", Logger: quiet{}},
		LogLevel:      "error",
		Stdout:        io.Discard,
		Stderr:        io.Discard,
		ExtraArgs:     extra,
	})
	if err != nil {
		return nil, fmt.Errorf("start the Temporal dev server: %w", err)
	}
	c := dev.Client()
	if err := escworker.EnsureSearchAttributes(ctx, c, "default"); err != nil {
		_ = dev.Stop()
		return nil, err
	}
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.CaseWorkflow, workflow.RegisterOptions{Name: workflows.CaseWorkflowName})
	s := stubs{}
	for name, fn := range map[string]any{
		workflows.ActivityRecordEvents: s.RecordEvents, workflows.ActivityDeliverNotifications: s.DeliverNotifications,
		workflows.ActivitySettleNotifications: s.SettleNotifications, workflows.ActivityCancellation: s.Cancellation,
		workflows.ActivityRecordedSeq: s.RecordedSeq,
	} {
		w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	if err := w.Start(); err != nil {
		_ = dev.Stop()
		return nil, err
	}
	reg, err := policies.Load("")
	if err != nil {
		return nil, err
	}
	pol, ok := reg.Get("northamptonshire")
	if !ok {
		return nil, fmt.Errorf("no northamptonshire policy")
	}
	return &server{dev: dev, client: c, worker: w, policy: pol}, nil
}

func (s *server) stop() {
	s.worker.Stop()
	_ = s.dev.Stop()
}

// Size is what Temporal keeps of one case.
type Size struct {
	Notes int
	// Runs is the number of runs (1 when it never continued as new).
	Runs int
	// Events and Bytes: all runs together; MaxRunEvents, MaxRunBytes: the
	// largest run. Bytes are the encoded history events (protobuf), as
	// GetWorkflowExecutionHistory returns them.
	Events, Bytes             int
	MaxRunEvents, MaxRunBytes int
	// MaxUpdateResult is the largest update result payload, in bytes.
	MaxUpdateResult int
}

var (
	raiser     = workflows.Person{Name: "Hana Visitor", Email: "hana@nhft.example", Agency: "nhft", Role: "practitioner"}
	respondent = workflows.Person{Name: "Sam Social", Email: "sam@nct.example", Agency: "nct", Role: "practitioner"}
	lead       = workflows.Person{Name: "Pat Lead", Email: "pat@nscp.example", Agency: "northamptonshire", Role: "partnership"}
)

// noteText is a note of a realistic length (about 300 characters).
var noteText = strings.Repeat("Phoned the team manager about the referral; agreed next steps. ", 5)

// measure runs one five-stage case (Northamptonshire: stages 1 to 5 by
// escalation, the mediation offer declined and the partnership's outcome)
// with notes spread evenly over the stages, and measures its history.
func (s *server) measure(ctx context.Context, ref string, notes int) (Size, error) {
	in := workflows.CaseInput{Ref: ref, Policy: s.policy, ChildRef: "BENCH/1", Category: "communication",
		Summary: "Information not shared", Raiser: workflows.Party{Name: raiser.Name, Email: raiser.Email, Agency: raiser.Agency},
		Respondent: workflows.Party{Name: respondent.Name, Email: respondent.Email, Agency: respondent.Agency}}
	run, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ref, TaskQueue: workflows.TaskQueue}, workflows.CaseWorkflowName, in)
	if err != nil {
		return Size{}, err
	}
	update := func(name string, arg any) error {
		h, err := s.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: ref, UpdateName: name, Args: []any{arg},
			WaitForStage: client.WorkflowUpdateStageCompleted})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := h.Get(ctx, nil); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	if err := update(workflows.UpdateOpened, workflows.OpenedInput{}); err != nil {
		return Size{}, fmt.Errorf("%w%s", err, s.taskFailure(ctx, ref))
	}
	const stages = 5
	for stage := 1; stage <= stages; stage++ {
		n := notes / stages
		if stage <= notes%stages {
			n++
		}
		for i := 0; i < n; i++ {
			by := raiser
			if i%2 == 1 {
				by = respondent
			}
			if err := update(workflows.UpdateNote, workflows.NoteInput{By: by, Text: fmt.Sprintf("Stage %d, note %d. %s", stage, i+1, noteText)}); err != nil {
				return Size{}, err
			}
		}
		if stage < stages {
			if err := update(workflows.UpdateEscalate, workflows.EscalateInput{By: raiser, Reason: "No agreement at this stage",
				Evidence: "Notes of the discussions at this stage are on the record."}); err != nil {
				return Size{}, err
			}
		}
	}
	if err := update(workflows.UpdateMeeting, workflows.MeetingInput{By: lead, At: time.Now().Add(24 * time.Hour),
		Purpose: "Mediation offered by a Strategic Lead", Declined: true}); err != nil {
		return Size{}, err
	}
	no := false
	if err := update(workflows.UpdateOutcome, workflows.OutcomeInput{By: lead, Outcome: "Mediation offered; no agreement",
		CaseReviewConsidered: &no}); err != nil {
		return Size{}, err
	}
	var res workflows.CaseResult
	if err := s.client.GetWorkflow(ctx, ref, run.GetRunID()).Get(ctx, &res); err != nil {
		return Size{}, fmt.Errorf("the case's workflow: %w", err)
	}
	if res.Case.Stage.Number != stages || res.Case.Status != workflows.StatusUnresolved {
		return Size{}, fmt.Errorf("the case ended %s at stage %d, want unresolved at stage %d", res.Case.Status, res.Case.Stage.Number, stages)
	}
	return s.size(ctx, ref, run.GetRunID(), notes)
}

// size measures a case's history from outside, following its runs from the
// first.
func (s *server) size(ctx context.Context, ref, runID string, notes int) (Size, error) {
	out := Size{Notes: notes}
	for runID != "" {
		next := ""
		events, bytes := 0, 0
		iter := s.client.GetWorkflowHistory(ctx, ref, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				return Size{}, err
			}
			events++
			bytes += proto.Size(ev)
			if a := ev.GetWorkflowExecutionUpdateCompletedEventAttributes(); a != nil {
				for _, p := range a.GetOutcome().GetSuccess().GetPayloads() {
					out.MaxUpdateResult = max(out.MaxUpdateResult, proto.Size(p))
				}
			}
			if a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				next = a.GetNewExecutionRunId()
			}
		}
		out.Runs++
		out.Events += events
		out.Bytes += bytes
		out.MaxRunEvents = max(out.MaxRunEvents, events)
		out.MaxRunBytes = max(out.MaxRunBytes, bytes)
		runID = next
	}
	return out, nil
}

// taskFailure says why the case's last workflow task failed, if one did.
func (s *server) taskFailure(ctx context.Context, ref string) string {
	why := ""
	iter := s.client.GetWorkflowHistory(ctx, ref, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			break
		}
		if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil {
			why = " (workflow task failed: " + a.GetFailure().GetMessage() + ")"
		}
	}
	return why
}

// quiet drops the SDK's log lines.
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
