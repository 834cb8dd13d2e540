package cases

// The requests a person sends to start or act on a case, the same from the
// JSON API (its request bodies, field for field: the contract) and from
// the pages (their forms, filled in server-side). Their binding tags are
// the field rules (check.go); every string field carries text or
// singleline.

// PartyRequest is the other professional.
type PartyRequest struct {
	Name   string `json:"name" binding:"required,notblank,singleline,max=200"`
	Email  string `json:"email" binding:"required,singleline,email,max=254"`
	Agency string `json:"agency" binding:"required,notblank,singleline,max=200"`
}

// StartRequest raises a disagreement (POST /v1/cases).
type StartRequest struct {
	Policy   string `json:"policy" binding:"required,singleline,max=64"`
	ChildRef string `json:"child_ref" binding:"required,singleline,childref"`
	Category string `json:"category" binding:"required,singleline,max=100"`
	// CategoryDetail: what the disagreement is about, for the category
	// that asks (other); its length and form are the policy's rule
	// (policies.Category.CheckDetail), so the tag only keeps it one line.
	// omitempty keeps the idempotency hash of a request without it as it
	// was before the field existed.
	CategoryDetail string       `json:"category_detail,omitempty" binding:"singleline"`
	Summary        string       `json:"summary" binding:"required,notblank,text,max=10000"`
	Respondent     PartyRequest `json:"respondent" binding:"required"`
	Urgent         bool         `json:"urgent"`
	DueAt          string       `json:"due_at" binding:"singleline"`
	// RaiserLineManager: the raiser's line manager, who acts for the
	// raiser's side at stage 2 (optional; omitempty keeps the idempotency
	// hash of requests without it as it was).
	RaiserLineManager *LineManagerRequest `json:"raiser_line_manager,omitempty"`
}

// LineManagerRequest names the raiser's line manager.
type LineManagerRequest struct {
	Name  string `json:"name" binding:"required,notblank,singleline,max=200"`
	Email string `json:"email" binding:"required,singleline,email,max=254"`
}

// NoteRequest records a discussion or decision.
type NoteRequest struct {
	Text string `json:"text" binding:"required,notblank,text,max=10000"`
}

// ContactRequest names the person acting for a side at the current stage.
type ContactRequest struct {
	Side  string `json:"side" binding:"required,singleline,oneof=raiser respondent"`
	Name  string `json:"name" binding:"required,notblank,singleline,max=200"`
	Email string `json:"email" binding:"required,singleline,email,max=254"`
	Role  string `json:"role" binding:"required,notblank,singleline,max=200"`
}

// EscalationRequest climbs now.
type EscalationRequest struct {
	Reason    string `json:"reason" binding:"required,notblank,text,max=10000"`
	Evidence  string `json:"evidence" binding:"text,max=10000"`
	ToStage   int    `json:"to_stage" binding:"min=0,max=99"`
	NextLevel bool   `json:"next_level"`
}

// DeadlineRequest agrees (or proposes) a shorter deadline.
type DeadlineRequest struct {
	DueAt  string `json:"due_at" binding:"required,singleline"`
	Reason string `json:"reason" binding:"required,notblank,text,max=10000"`
}

// ActionRequest is one action of a proposed outcome.
type ActionRequest struct {
	What string `json:"what" binding:"required,notblank,text,max=2000"`
	Who  string `json:"who" binding:"required,notblank,singleline,max=200"`
	By   string `json:"by" binding:"required,singleline"`
}

// AgreementRequest proposes the written outcome.
type AgreementRequest struct {
	Outcome  string          `json:"outcome" binding:"required,notblank,text,max=10000"`
	Actions  []ActionRequest `json:"actions" binding:"max=50,dive"`
	Learning string          `json:"learning" binding:"text,max=10000"`
}

// ConfirmRequest confirms the other side's proposal (an outcome or a
// deadline): nothing but who sends it.
type ConfirmRequest struct{}

// ReasonRequest rejects a proposal or withdraws.
type ReasonRequest struct {
	Reason string `json:"reason" binding:"required,notblank,text,max=10000"`
}

// OutcomeRequest is the partnership's outcome.
type OutcomeRequest struct {
	Resolved             *bool  `json:"resolved" binding:"required"`
	Outcome              string `json:"outcome" binding:"required,notblank,text,max=10000"`
	Learning             string `json:"learning" binding:"text,max=10000"`
	CaseReviewConsidered *bool  `json:"case_review_considered"`
}

// ReviewRequest is the partnership's check that earlier stages were
// followed.
type ReviewRequest struct {
	Followed   *bool  `json:"followed" binding:"required"`
	SendBackTo int    `json:"send_back_to" binding:"min=0,max=99"`
	NextSteps  string `json:"next_steps" binding:"required,notblank,text,max=10000"`
}

// FacilitatorRequest names a meeting's facilitator.
type FacilitatorRequest struct {
	Name  string `json:"name" binding:"required,notblank,singleline,max=200"`
	Email string `json:"email" binding:"required,singleline,email,max=254"`
}

// MeetingRequest records a stage's meeting.
type MeetingRequest struct {
	At          string              `json:"at" binding:"required,singleline"`
	Purpose     string              `json:"purpose" binding:"text,max=2000"`
	Facilitator *FacilitatorRequest `json:"facilitator"`
	// Declined: the meeting (the mediation) was offered for At and the
	// parties declined it.
	Declined bool `json:"declined"`
}
