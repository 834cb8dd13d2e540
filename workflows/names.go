package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
)

// Every name the worker, the API and operators share lives here; nothing
// else spells these strings.
const (
	// TaskQueue is where case workflows and their activities run.
	TaskQueue = "escalate-cases"

	// CaseWorkflowName is the registered name of CaseWorkflow.
	CaseWorkflowName = "CaseWorkflow"

	// QueryState returns the Case as the workflow holds it: without its
	// history for cases started since the state was kept lean (the record
	// in PostgreSQL has it), with it for older ones.
	QueryState = "state"

	// UpdateOpened waits until the opening of the case is durably recorded;
	// the API sends it with update-with-start.
	UpdateOpened           = "opened"
	UpdateNote             = "note"
	UpdateContact          = "contact"
	UpdateEscalate         = "escalate"
	UpdateDeadline         = "deadline"
	UpdateConfirmDeadline  = "deadline.confirm"
	UpdateProposeAgreement = "agreement.propose"
	UpdateConfirmAgreement = "agreement.confirm"
	UpdateRejectAgreement  = "agreement.reject"
	UpdateWithdraw         = "withdraw"
	UpdateOutcome          = "outcome"
	UpdateReview           = "review"
	UpdateMeeting          = "meeting"

	// SignalClosure sends a case a partnership closure (ClosureInput): a
	// one-off non-working day recorded after the case started. A signal,
	// not an update: the API sends it to every open case of the
	// partnership without waiting for each; the case applies a date once.
	SignalClosure = "closure"
)

// Error types carried by temporal.ApplicationError from update validators
// and handlers; the API maps them to HTTP statuses.
const (
	ErrConflict      = "conflict"       // the case's state does not allow it (409)
	ErrRuleViolation = "rule_violation" // a procedure rule says no (422)
	// ErrRecordRefused: PostgreSQL refused to store a value of the change
	// (a data or constraint error): retrying cannot help, so the change is
	// undone and refused (400); nothing was recorded.
	ErrRecordRefused = "record_refused"
)

// Search attributes operators filter on in the Temporal Web UI. None holds
// personal data: ids of policies, agencies and categories, the stage, the
// deadline and flags. The workflow keeps them current on every change.
var (
	SearchPolicy           = temporal.NewSearchAttributeKeyKeyword("EscalatePolicy")
	SearchStatus           = temporal.NewSearchAttributeKeyKeyword("EscalateStatus")
	SearchStage            = temporal.NewSearchAttributeKeyInt64("EscalateStage")
	SearchDueAt            = temporal.NewSearchAttributeKeyTime("EscalateDueAt")
	SearchRaisingAgency    = temporal.NewSearchAttributeKeyKeyword("EscalateRaisingAgency")
	SearchRespondingAgency = temporal.NewSearchAttributeKeyKeyword("EscalateRespondingAgency")
	SearchCategory         = temporal.NewSearchAttributeKeyKeyword("EscalateCategory")
	SearchUrgent           = temporal.NewSearchAttributeKeyBool("EscalateUrgent")
	// SearchOverdue is set when a stage's deadline passes and the stage
	// stays open, and cleared when the stage moves or the case closes.
	SearchOverdue = temporal.NewSearchAttributeKeyBool("EscalateOverdue")
)

// SearchAttributeKeys lists every key above, for registration by setup.
func SearchAttributeKeys() []temporal.SearchAttributeKey {
	return []temporal.SearchAttributeKey{SearchPolicy, SearchStatus, SearchStage, SearchDueAt,
		SearchRaisingAgency, SearchRespondingAgency, SearchCategory, SearchUrgent, SearchOverdue}
}

// StartSearchAttributes are the search attributes a case starts with, so
// operators can find it before its first step has run.
func StartSearchAttributes(in CaseInput) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		SearchPolicy.ValueSet(in.Policy.ID),
		SearchStatus.ValueSet(StatusOpen),
		SearchStage.ValueSet(1),
		SearchRaisingAgency.ValueSet(in.Raiser.Agency),
		SearchRespondingAgency.ValueSet(in.Respondent.Agency),
		SearchCategory.ValueSet(in.Category),
		SearchUrgent.ValueSet(in.Urgent),
		SearchOverdue.ValueSet(false),
	)
}

// CaseRef builds a case reference, which is also its workflow ID:
// PREFIX-YEAR-NNNNN, e.g. NSCP-2026-00042.
func CaseRef(prefix string, year int, number int64) string {
	return fmt.Sprintf("%s-%d-%05d", prefix, year, number)
}

// Activity names. The activities package implements them as methods of
// activities.Activities with these exact names (a test checks); workflows
// refer to them by name so that workflow code never imports the database.
const (
	ActivityRecordEvents = "RecordEvents"
	// ActivityRecordOpening records a case's opening whose policy snapshot
	// it names by hash (RecordEventsInput.PolicyHash): RecordEvents under
	// another name, which a worker from before it does not serve (it would
	// record the case without its snapshot), so Temporal retries it until
	// a worker that knows it does.
	ActivityRecordOpening        = "RecordOpening"
	ActivityDeliverNotifications = "DeliverNotifications"
	ActivityCancellation         = "Cancellation"
	ActivityRecordedSeq          = "RecordedSeq"
	ActivitySettleNotifications  = "SettleNotifications"
	// ActivitySendDigest mails the partnership's business office the
	// meeting pack's link and headline figures (DigestWorkflow).
	ActivitySendDigest = "SendDigest"
)

// The partnership digest: a Temporal Schedule per policy, created and kept
// in step by escalate setup and by the meeting-dates page, starts
// DigestWorkflow before each meeting (and monthly when none is set).
const (
	DigestWorkflowName = "DigestWorkflow"
	// DigestSchedulePrefix + the policy id is the schedule's id; the
	// workflows it starts are named after it.
	DigestSchedulePrefix = "escalate-digest-"
)

// DeliverMaxAttempts bounds the attempts to deliver a notification; the
// activity marks what still fails at the last one as failed for good.
const DeliverMaxAttempts = 6
