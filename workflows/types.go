package workflows

import (
	"strings"
	"time"

	"escalate/policies"
)

// Case statuses.
const (
	StatusOpen              = "open"
	StatusAgreementProposed = "agreement_proposed"
	StatusResolved          = "resolved"
	StatusWithdrawn         = "withdrawn"
	StatusUnresolved        = "unresolved"
	// StatusCancelled: an operator cancelled the case's workflow in
	// Temporal (the Web UI or the CLI); who and why are on the record.
	StatusCancelled = "cancelled"
)

// Sides of a disagreement.
const (
	SideRaiser     = "raiser"
	SideRespondent = "respondent"
)

// Phases of a review stage (Devon's Case Resolution Protocol).
const (
	PhaseAwaitingReview        = "awaiting_review"
	PhaseAwaitingBusinessGroup = "awaiting_business_group"
)

// Person is who acts: the token's person as the API authenticated them.
type Person struct {
	Name   string `json:"name"`
	Email  string `json:"email"`
	Agency string `json:"agency"`
	Role   string `json:"role,omitempty"`
}

// Party is one person on a side of the case.
type Party struct {
	Name   string `json:"name"`
	Email  string `json:"email"`
	Agency string `json:"agency"`
	Role   string `json:"role,omitempty"`
}

// Contact is a person acting for one side at a stage (e.g. a line manager).
type Contact struct {
	Party
	Side  string `json:"side"`
	Stage int    `json:"stage"`
}

// StageState is where the case stands on the ladder.
type StageState struct {
	Number    int       `json:"number"`
	Name      string    `json:"name"`
	StartedAt time.Time `json:"started_at"`
	DueAt     time.Time `json:"due_at"`
	Overdue   bool      `json:"overdue"`
	// Within is the stage's policy timescale, and Agreed says the due time
	// is a shorter, agreed one.
	Within string `json:"within"`
	Agreed bool   `json:"agreed"`
	// Who acts now; Step and StepName for a stage split into steps; Level
	// for a stage that repeats level by level.
	Who      string `json:"who"`
	Step     int    `json:"step,omitempty"`
	StepName string `json:"step_name,omitempty"`
	Level    int    `json:"level,omitempty"`
	// Phase of a review stage: awaiting_review, awaiting_business_group.
	Phase string `json:"phase,omitempty"`
	// AwaitingContact are the sides ("raiser", "respondent") that have named
	// nobody to act for them at this stage, where people above the
	// practitioners act (policies.Policy.UsesEscalationContacts): each is
	// asked to name its person, and meanwhile its agency's escalation
	// contact is told in its place.
	AwaitingContact []string `json:"awaiting_contact,omitempty"`
	// RecordMissingFrom is the stage the case climbed from when its
	// deadline passed with nothing recorded there: this stage's people are
	// asked to record what happened at it before anything else. Cleared
	// once a note is recorded.
	RecordMissingFrom int `json:"record_missing_from,omitempty"`
}

// Adviser is a party who joins the case for the procedure rather than for
// a side, e.g. the CAF/TAC Implementation Officer in a threshold dispute.
type Adviser struct {
	Party
	Stage int    `json:"stage"`
	Why   string `json:"why"`
}

// Meeting is a meeting a stage held (a resolution meeting, the Business
// Group), with the restorative facilitator if one was offered.
type Meeting struct {
	At          time.Time `json:"at"`
	Stage       int       `json:"stage"`
	Purpose     string    `json:"purpose"`
	Facilitator *Party    `json:"facilitator,omitempty"`
	RecordedBy  string    `json:"recorded_by"`
	// Declined: the meeting was offered and the parties declined it.
	Declined bool `json:"declined,omitempty"`
}

// Action is one agreed action of an outcome.
type Action struct {
	What string    `json:"what"`
	Who  string    `json:"who"`
	By   time.Time `json:"by"`
}

// Agreement is the written outcome one side proposes and the other confirms.
type Agreement struct {
	ProposedBy     string     `json:"proposed_by"`
	ProposedBySide string     `json:"proposed_by_side"`
	Outcome        string     `json:"outcome"`
	Actions        []Action   `json:"actions"`
	Learning       string     `json:"learning,omitempty"`
	ConfirmedBy    string     `json:"confirmed_by"`
	At             *time.Time `json:"at"`
	ProposedAt     time.Time  `json:"proposed_at"`
}

// PendingDeadline is a deadline for the current stage that one side has
// proposed and the other side has yet to confirm. It lapses when the stage
// (or its step or level) moves.
type PendingDeadline struct {
	DueAt          time.Time `json:"due_at"`
	Reason         string    `json:"reason"`
	ProposedBy     string    `json:"proposed_by"`
	ProposedBySide string    `json:"proposed_by_side"`
	ProposedAt     time.Time `json:"proposed_at"`
	Stage          int       `json:"stage"`
}

// Event is one entry of the written record.
type Event struct {
	Seq     int       `json:"seq"`
	At      time.Time `json:"at"`
	Type    string    `json:"type"`
	Stage   int       `json:"stage"`
	By      string    `json:"by"`
	ByEmail string    `json:"by_email,omitempty"`
	Text    string    `json:"text"`
	// DueAt is the deadline an event set: the stage's (or step's, or
	// level's) when it started, or an agreed one. The record keeps it so
	// each stage's deadline stays known after the case moves on.
	DueAt *time.Time `json:"due_at,omitempty"`
	// The structured fields (events.go says which event carries which):
	// the record page and the reports read these, never Text.
	//
	// FromStage and ToStage are a stage move's stages (equal for a next
	// step or level); Move is its kind (Move*).
	FromStage int    `json:"from_stage,omitempty"`
	ToStage   int    `json:"to_stage,omitempty"`
	Move      string `json:"move,omitempty"`
	// Step and Level are the step or level a stage move entered, for a
	// stage split into steps or repeating level by level.
	Step  int `json:"step,omitempty"`
	Level int `json:"level,omitempty"`
	// Agreed: DueAt is a deadline agreed for the stage entered, not the
	// policy's timescale.
	Agreed bool `json:"agreed,omitempty"`
	// Resolved and ClosedStatus are set on the event that closed the case:
	// whether the disagreement was resolved, and the status it closed with.
	Resolved     *bool  `json:"resolved,omitempty"`
	ClosedStatus string `json:"closed_status,omitempty"`
}

// Case is the whole state of one disagreement: what the query returns and
// what the API serves. History is filled by the API from the record (and,
// for cases started before the workflow's state was kept lean, by the
// query); the stored snapshot leaves it empty.
type Case struct {
	Ref      string `json:"ref"`
	Policy   string `json:"policy"`
	Status   string `json:"status"`
	ChildRef string `json:"child_ref"`
	Category string `json:"category"`
	// CategoryDetail says what the disagreement is about when its category
	// asks (the category other); empty otherwise.
	CategoryDetail string     `json:"category_detail,omitempty"`
	Summary        string     `json:"summary"`
	Urgent         bool       `json:"urgent"`
	CreatedAt      time.Time  `json:"created_at"`
	ClosedAt       *time.Time `json:"closed_at"`
	Stage          StageState `json:"stage"`
	Raiser         Party      `json:"raiser"`
	Respondent     Party      `json:"respondent"`
	Contacts       []Contact  `json:"contacts"`
	Agreement      *Agreement `json:"agreement"`
	// PendingDeadline is a deadline one side proposed for the current
	// stage, waiting for the other side to confirm it; null when none is.
	PendingDeadline *PendingDeadline `json:"pending_deadline"`
	Outcome         string           `json:"outcome,omitempty"`
	Learning        string           `json:"learning,omitempty"`
	Advisers        []Adviser        `json:"advisers"`
	Meetings        []Meeting        `json:"meetings"`
	// DecidedBy says whose decision the partnership-stage outcome records.
	DecidedBy string `json:"decided_by,omitempty"`
	// Recommendations are the partnership's recommendations, where it
	// never decides the case (outcome_by: parties, Devon's Business Group):
	// recorded when it closes the case unresolved.
	Recommendations string `json:"recommendations,omitempty"`
	// CaseReviewConsidered: whether a multi-agency case review was
	// considered, where the stage records it.
	CaseReviewConsidered *bool   `json:"case_review_considered,omitempty"`
	History              []Event `json:"history,omitempty"`
	SafetyNotice         string  `json:"safety_notice"`
	// Version is the sequence number of the latest event applied.
	Version int `json:"version"`
}

// PartyEmails are the lower-cased emails of everyone who is a party of the
// case: the raiser, the respondent, every contact and every adviser. The
// access rules match a person by them, and the store keeps exactly these
// in the case's parties column for its list query.
func (c Case) PartyEmails() []string {
	out := []string{strings.ToLower(strings.TrimSpace(c.Raiser.Email)), strings.ToLower(strings.TrimSpace(c.Respondent.Email))}
	for _, ct := range c.Contacts {
		out = append(out, strings.ToLower(strings.TrimSpace(ct.Email)))
	}
	for _, a := range c.Advisers {
		out = append(out, strings.ToLower(strings.TrimSpace(a.Email)))
	}
	return out
}

// Closed reports whether the case has ended.
func (c Case) Closed() bool {
	switch c.Status {
	case StatusResolved, StatusWithdrawn, StatusUnresolved, StatusCancelled:
		return true
	}
	return false
}

// CaseInput starts a case. The policy is a snapshot taken at start.
type CaseInput struct {
	Ref      string          `json:"ref"`
	Policy   policies.Policy `json:"policy"`
	ChildRef string          `json:"child_ref"`
	Category string          `json:"category"`
	// CategoryDetail: what the disagreement is about, for a category that
	// needs it (policies.Category.CheckDetail, checked by the API).
	CategoryDetail string     `json:"category_detail,omitempty"`
	Summary        string     `json:"summary"`
	Urgent         bool       `json:"urgent"`
	DueAt          *time.Time `json:"due_at,omitempty"`
	Raiser         Party      `json:"raiser"`
	Respondent     Party      `json:"respondent"`
	// RaiserLineManager, if the raiser named them when raising, acts for the
	// raiser's side at stage 2 (recorded as its contact there).
	RaiserLineManager *Party `json:"raiser_line_manager,omitempty"`
	// RequestID names the API request that started the case (also in the
	// workflow's memo), so a retry joins its own case and no other.
	RequestID string `json:"request_id,omitempty"`
	// PolicyHash, set by the API once it has kept Policy in the record's
	// policy snapshots (store.KeepPolicySnapshot), is the hex SHA-256 it is
	// kept under: the opening record names the snapshot by it rather than
	// carrying it through Temporal a second time.
	PolicyHash string `json:"policy_hash,omitempty"`
	// Carry is set when the workflow continues as new: the run goes on
	// from this state instead of opening the case (Policy is the snapshot
	// the case runs under, as it stands).
	Carry *CarriedState `json:"carry,omitempty"`
}

// CaseResult is what a finished case workflow returns.
type CaseResult struct {
	Case Case `json:"case"`
}

// ActionResult is what every update returns. Cases started before the
// workflow kept its state lean answered with the whole case after the
// action (Case, history included); newer ones answer with where the action
// left the case and leave Case empty, omitted from the payload: the record
// in PostgreSQL is where the case is read.
type ActionResult struct {
	Case Case `json:"case,omitzero"`
	// Seq is the sequence number of the last event the action recorded
	// (for the opening, of the opening's last event).
	Seq int `json:"seq,omitempty"`
	// Version is the case's version after the action: Seq, unless a reset
	// renumbered the events after the record.
	Version int `json:"version,omitempty"`
	// Status is the case's status after the action.
	Status string `json:"status,omitempty"`
	// Stage is the stage the case is at after the action.
	Stage int `json:"stage,omitempty"`
}

// CarriedState is what a case workflow carries into the run it continues
// as new in: exactly the state the procedure needs, never the history
// (PostgreSQL keeps that). The policy snapshot travels in CaseInput.Policy.
type CarriedState struct {
	// Case is the case as it stands, without its history.
	Case Case `json:"case"`
	// Epoch and Reminded: the stage wait's generation and the generation
	// whose reminder has gone, so the new run neither repeats the reminder
	// nor misses the deadline.
	Epoch    int `json:"epoch"`
	Reminded int `json:"reminded"`
	// StageRun counts what was recorded at the current stage, for the
	// evidence a forced climb records.
	StageRun StageRun `json:"stage_run"`
	// Serial and Decisions are the rules the case was started under.
	Serial    bool `json:"serial"`
	Decisions bool `json:"decisions"`
	// Resync: the run that continued was made by a reset and had not yet
	// learnt how far the record goes; the new run asks before it numbers
	// its first events.
	Resync bool `json:"resync,omitempty"`
	// Runs counts the runs the case has continued through, for the logs.
	Runs int `json:"runs"`
	// Deliver are the events whose notifications are recorded but were
	// not sent by the run that continued: this run sends them.
	Deliver []int `json:"deliver,omitempty"`
	// Applied are the latest updates applied by earlier runs: Temporal
	// recognises a repeated update ID within a run only, so a client that
	// repeats an update after the workflow continued as new (its answer
	// was lost) gets the first answer rather than a second change.
	Applied []AppliedUpdate `json:"applied,omitempty"`
	// Closures are the partnership closures the case received while it
	// ran; their dates travel in the policy snapshot too (its Closures),
	// which is what the calendar counts with.
	Closures []Closure `json:"closures,omitempty"`
	// Current: the case started with every versioned change of its time
	// at once (caseState.current), so the next run asks for none of them.
	Current bool `json:"current,omitempty"`
	// Dispatch: the case's notifications are delivered by the worker's
	// dispatcher from the record (caseState.dispatch), in every run.
	Dispatch bool `json:"dispatch,omitempty"`
}

// AppliedUpdate is an update a run applied, by its ID, with its answer.
type AppliedUpdate struct {
	ID     string       `json:"id"`
	Result ActionResult `json:"result"`
}

// StageRun is what people recorded since the case's current stage began (a
// stage's steps and levels included): its start, and how many events of
// each type a person recorded there. A climb the deadline forces records
// these counts as evidence that the stage was followed.
type StageRun struct {
	Stage int `json:"stage"`
	// Start is when the stage (its latest level) was entered; zero until a
	// stage_entered event of it is seen.
	Start time.Time `json:"start,omitzero"`
	// Counts is the number of events of each type a person recorded.
	Counts map[string]int `json:"counts,omitempty"`
}

// OpenedInput asks for the case once its opening is recorded.
type OpenedInput struct{}

// NoteInput records a discussion or decision.
type NoteInput struct {
	By   Person `json:"by"`
	Text string `json:"text"`
}

// ContactInput records who acts for a side at the current stage.
type ContactInput struct {
	By    Person `json:"by"`
	Side  string `json:"side"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  string `json:"role"`
	// ForEitherSide is set by the caller's authorisation when By may name
	// a contact for either side (the partnership of the case's policy, an
	// admin); a party names contacts for their own side only.
	ForEitherSide bool `json:"for_either_side,omitempty"`
}

// EscalateInput climbs the ladder now.
type EscalateInput struct {
	By       Person `json:"by"`
	Reason   string `json:"reason"`
	Evidence string `json:"evidence"`
	ToStage  int    `json:"to_stage,omitempty"`
	// NextLevel climbs to the next management level of a repeating stage.
	NextLevel bool `json:"next_level,omitempty"`
}

// DeadlineInput agrees a shorter deadline for the current stage; where the
// policy's deadlines are agreed by both sides, it proposes one.
type DeadlineInput struct {
	By     Person    `json:"by"`
	DueAt  time.Time `json:"due_at"`
	Reason string    `json:"reason"`
}

// ConfirmDeadlineInput is the other side confirming a proposed deadline.
type ConfirmDeadlineInput struct {
	By Person `json:"by"`
}

// ProposeAgreementInput proposes the written outcome.
type ProposeAgreementInput struct {
	By       Person   `json:"by"`
	Outcome  string   `json:"outcome"`
	Actions  []Action `json:"actions"`
	Learning string   `json:"learning,omitempty"`
}

// ConfirmAgreementInput confirms the other side's proposal.
type ConfirmAgreementInput struct {
	By Person `json:"by"`
}

// RejectAgreementInput rejects the proposal; the case goes back to open.
type RejectAgreementInput struct {
	By     Person `json:"by"`
	Reason string `json:"reason"`
}

// WithdrawInput is the raiser's side withdrawing.
type WithdrawInput struct {
	By     Person `json:"by"`
	Reason string `json:"reason"`
}

// OutcomeInput is the partnership's mediation or review outcome.
type OutcomeInput struct {
	By       Person `json:"by"`
	Resolved bool   `json:"resolved"`
	Outcome  string `json:"outcome"`
	Learning string `json:"learning,omitempty"`
	// CaseReviewConsidered is required where the stage records it.
	CaseReviewConsidered *bool `json:"case_review_considered,omitempty"`
}

// ReviewInput is the partnership's check of a review stage: were the earlier
// stages followed? If not, the case goes back to SendBackTo with next steps.
type ReviewInput struct {
	By         Person `json:"by"`
	Followed   bool   `json:"followed"`
	SendBackTo int    `json:"send_back_to,omitempty"`
	NextSteps  string `json:"next_steps"`
}

// MeetingInput records a meeting of the current stage.
type MeetingInput struct {
	By          Person    `json:"by"`
	At          time.Time `json:"at"`
	Purpose     string    `json:"purpose"`
	Facilitator *Party    `json:"facilitator,omitempty"`
	// Declined records that the meeting (the mediation) was offered and
	// the parties declined it.
	Declined bool `json:"declined,omitempty"`
}

// Recipient is one person to tell of an event.
type Recipient struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	// Why says in what capacity they are told, e.g. "raiser".
	Why string `json:"why"`
	// Agency is the recipient's agency (the policy's id for the business
	// office): its webhook, if it has one, is told too.
	Agency string `json:"agency,omitempty"`
	// Also are the later events of the same record (one change: a deadline
	// passing, the escalation and the next stage) that this notification
	// tells of too: each person gets one notification per change, on the
	// first of its events that tells them.
	Also []int `json:"also,omitempty"`
}

// Notice is the notification of one event to its recipients. A recipient
// told of several events of one record is on the first event's notice only,
// with the others in Also; a notice may then have no recipients (agencies'
// webhooks are still told of every event).
type Notice struct {
	Seq        int         `json:"seq"`
	Recipients []Recipient `json:"recipients"`
}

// RecordEventsInput writes events, the case snapshot after them, and the
// notifications they cause, in one transaction. Writing the same input twice
// changes nothing.
type RecordEventsInput struct {
	Ref     string   `json:"ref"`
	RunID   string   `json:"run_id"`
	Case    Case     `json:"case"`
	Events  []Event  `json:"events"`
	Notices []Notice `json:"notices"`
	// Timezone renders deadlines in local time in notifications.
	Timezone string `json:"timezone"`
	// Policy is the policy snapshot the case runs under, sent with the
	// opening only: the record keeps it with the case.
	Policy *policies.Policy `json:"policy,omitempty"`
	// PolicyHash names, instead of Policy, the snapshot the API kept in
	// the record before starting the case (ActivityRecordOpening): the
	// record copies it to the case from there.
	PolicyHash string `json:"policy_hash,omitempty"`
	// Dispatch: the worker's dispatcher delivers these notifications (the
	// record marks them for it), not a DeliverNotifications activity. Set
	// by cases started with current-case version 3.
	Dispatch bool `json:"dispatch,omitempty"`
}

// RecordEventsResult says how many events were new.
type RecordEventsResult struct {
	Inserted int `json:"inserted"`
}

// DeliverNotificationsInput sends the recorded, unsent notifications of the
// given events.
type DeliverNotificationsInput struct {
	Ref  string `json:"ref"`
	Seqs []int  `json:"seqs"`
}

// RecordedSeqInput asks how far a case's record goes.
type RecordedSeqInput struct {
	Ref string `json:"ref"`
}

// RecordedSeqResult is the highest sequence number on the record (0 for
// none).
type RecordedSeqResult struct {
	Seq int `json:"seq"`
}

// CancellationInput asks who cancelled a case's workflow, and why.
type CancellationInput struct {
	Ref   string `json:"ref"`
	RunID string `json:"run_id"`
}

// CancellationResult is what Temporal recorded of the cancel request: the
// identity of the client that sent it and the reason given, either of
// which may be empty.
type CancellationResult struct {
	Identity string `json:"identity"`
	Reason   string `json:"reason"`
}

// SettleNotificationsInput marks the notifications of the given events that
// are still pending or retrying as failed, once no attempt is left.
type SettleNotificationsInput struct {
	Ref  string `json:"ref"`
	Seqs []int  `json:"seqs"`
}

// SettleNotificationsResult counts the notifications marked failed.
type SettleNotificationsResult struct {
	Failed int64 `json:"failed"`
}

// DeliverNotificationsResult counts what happened to them.
type DeliverNotificationsResult struct {
	Sent   int `json:"sent"`
	Logged int `json:"logged"`
}
