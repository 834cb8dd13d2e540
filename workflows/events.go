package workflows

// The event vocabulary: every type of event a case's record holds, every
// kind of stage move, and what each event means and which structured fields
// it carries. The record page, the reports, the notifications, the store
// and the metrics refer to these constants and read the fields; none of
// them reads an event's text, which is written for people.

// Event types of a case's record.
const (
	EventOpened          = "case_opened"
	EventStageEntered    = "stage_entered"
	EventNote            = "note"
	EventContact         = "contact_added"
	EventEscalated       = "escalated"
	EventDeadlineChanged = "deadline_agreed"
	// EventDeadlineProposed: one side proposed a deadline that takes effect
	// when the other side confirms it (policies deadlines_agreed_by: both).
	EventDeadlineProposed  = "deadline_proposed"
	EventDeadlinePassed    = "deadline_passed"
	EventAgreementProposed = "agreement_proposed"
	EventAgreementConfirm  = "agreement_confirmed"
	EventAgreementRejected = "agreement_rejected"
	EventWithdrawn         = "withdrawn"
	EventOutcome           = "outcome_recorded"
	EventReminder          = "reminder"
	EventStepEntered       = "step_entered"
	EventPartyJoined       = "party_joined"
	EventSentBack          = "sent_back"
	EventReviewConfirmed   = "review_confirmed"
	EventMeeting           = "meeting_recorded"
	EventCancelled         = "case_cancelled"
	EventReset             = "case_reset"
	// EventDeadlineMoved: a closure date (a one-off bank holiday the
	// partnership adds, closures.go) moved a running stage's deadline
	// later; it carries the new deadline in due_at.
	EventDeadlineMoved = "deadline_moved"
)

// EventTypes lists every event type the workflow records, in the order the
// README's table of notifications shows them.
var EventTypes = []string{
	EventOpened, EventStageEntered, EventStepEntered, EventEscalated, EventReminder,
	EventDeadlinePassed, EventDeadlineChanged, EventDeadlineMoved, EventDeadlineProposed, EventNote, EventContact, EventPartyJoined,
	EventMeeting, EventSentBack, EventReviewConfirmed, EventAgreementProposed,
	EventAgreementConfirm, EventAgreementRejected, EventWithdrawn, EventOutcome,
	EventCancelled, EventReset,
}

// Kinds of stage move (Event.Move): why the case went from one stage (step,
// level) to another.
const (
	// MoveOpened: the case opened at its first stage.
	MoveOpened = "opened"
	// MoveEscalated: a person escalated the case to a later stage.
	MoveEscalated = "escalated"
	// MoveNextStep: a person moved the case on to the next step of its
	// stage.
	MoveNextStep = "next_step"
	// MoveNextLevel: a person escalated the case to the next management
	// level of a stage that repeats level by level.
	MoveNextLevel = "next_level"
	// MoveDeadlinePassed: the stage's deadline passed and the case was
	// escalated automatically to the next stage (on_timeout: escalate).
	MoveDeadlinePassed = "deadline_passed"
	// MoveDeadlineNextStep: the step's deadline passed and the case moved
	// on to the stage's next step automatically.
	MoveDeadlineNextStep = "deadline_next_step"
	// MoveDeadlineMediation: the stage's deadline passed and the case was
	// referred to the partnership stage for mediation (on_timeout:
	// mediation).
	MoveDeadlineMediation = "deadline_mediation"
	// MoveSentBack: the partnership's review found an earlier stage was
	// not followed and sent the case back to it.
	MoveSentBack = "sent_back"
	// MoveReset: an operator reset the case's workflow in Temporal to an
	// earlier point; the case goes on from the stage it stood at then.
	MoveReset = "reset"
)

// Moves lists every kind of stage move.
var Moves = []string{
	MoveOpened, MoveEscalated, MoveNextStep, MoveNextLevel, MoveDeadlinePassed,
	MoveDeadlineNextStep, MoveDeadlineMediation, MoveSentBack, MoveReset,
}

// ByDeadline reports whether a move was made by a deadline passing rather
// than by a person.
func ByDeadline(move string) bool {
	switch move {
	case MoveDeadlinePassed, MoveDeadlineNextStep, MoveDeadlineMediation:
		return true
	}
	return false
}

// EventMeaning says what an event type means and which structured fields
// of Event it carries (besides seq, at, type, stage, by and text, which
// every event has).
type EventMeaning struct {
	Means  string
	Fields []string
}

// The fields the events of one kind carry: entering a stage (step, level),
// making a stage move, closing the case. A reset, entering its stage from
// no other, carries enterFields without from_stage.
var (
	enterFields = []string{"from_stage", "to_stage", "move", "step", "level", "due_at", "agreed"}
	moveFields  = []string{"from_stage", "to_stage", "move"}
	closeFields = []string{"resolved", "closed_status"}
)

// Vocabulary is what each event type means and the fields it carries: the
// one description of the record's events (a test checks every type is
// here and that the workflow sets what it says).
var Vocabulary = map[string]EventMeaning{
	EventOpened:            {"The disagreement was raised.", nil},
	EventStageEntered:      {"The case entered a stage (or the next management level of a repeating one), at its opening or by a move.", enterFields},
	EventStepEntered:       {"The case moved on to the next step of its stage.", enterFields},
	EventEscalated:         {"A person, or the deadline, escalated the case: to a later stage, the next step or the next level. The entered event follows.", moveFields},
	EventReminder:          {"The stage's deadline is coming: its people were reminded.", nil},
	EventDeadlinePassed:    {"The stage's (step's) deadline passed without a written outcome. With a move, what the deadline did follows; without one, the stage stays open, overdue.", moveFields},
	EventDeadlineChanged:   {"A shorter deadline for the current stage was agreed (by one side, or confirmed by both).", []string{"due_at"}},
	EventDeadlineProposed:  {"One side proposed a deadline that takes effect when the other side confirms it.", nil},
	EventDeadlineMoved:     {"A closure date moved the current stage's deadline later.", []string{"due_at"}},
	EventNote:              {"A party recorded a discussion or decision.", nil},
	EventContact:           {"A person now acts for one side at a stage.", nil},
	EventPartyJoined:       {"An adviser joined the case for the procedure.", nil},
	EventMeeting:           {"A meeting of the stage was recorded, or offered and declined.", nil},
	EventSentBack:          {"The partnership's review sent the case back to an earlier stage. The entered event follows.", moveFields},
	EventReviewConfirmed:   {"The partnership's review confirmed the earlier stages were followed.", nil},
	EventAgreementProposed: {"One side proposed the written outcome.", nil},
	EventAgreementConfirm:  {"The other side confirmed the agreement: the case is closed, resolved.", closeFields},
	EventAgreementRejected: {"The proposed agreement was rejected; the case stays open.", nil},
	EventWithdrawn:         {"The raiser's side withdrew: the case is closed.", closeFields},
	EventOutcome:           {"The partnership recorded its outcome (or recommendations): the case is closed, resolved or not.", closeFields},
	EventCancelled:         {"An operator cancelled the case's workflow in Temporal: the case is closed.", closeFields},
	EventReset:             {"An operator reset the case's workflow in Temporal: the case goes on from the stage it stood at then.", enterFields[1:]},
}

// EntersStage reports whether an event starts a stage, step or level on
// the record: the ones the record page makes a row of.
func (e Event) EntersStage() bool {
	switch e.Type {
	case EventStageEntered, EventStepEntered:
		return true
	case EventReset:
		return e.Move == MoveReset && e.ToStage > 0
	}
	return false
}

// Closes reports whether an event closed the case.
func (e Event) Closes() bool { return e.ClosedStatus != "" }
