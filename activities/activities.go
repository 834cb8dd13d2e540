// Package activities holds the side effects of a case: writing the record to
// PostgreSQL and telling the people involved.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"escalate/store"
	"escalate/workflows"
)

// Activities holds what the activities need. Its methods are registered by
// name; the names are the workflows.Activity* constants.
type Activities struct {
	Store *store.Store
	// Temporal reads a cancelled case's cancel request (who and why).
	Temporal  client.Client
	Mailer    Mailer // nil: mail is logged, not sent
	Webhooks  *WebhookPoster
	PublicURL string
	Log       *slog.Logger
}

// RecordEvents writes events, snapshot and notifications in one transaction.
// A retry writes nothing twice.
func (a *Activities) RecordEvents(ctx context.Context, in workflows.RecordEventsInput) (workflows.RecordEventsResult, error) {
	if in.Ref == "" || len(in.Events) == 0 {
		return workflows.RecordEventsResult{}, temporal.NewNonRetryableApplicationError("nothing to record", "invalid_input", nil)
	}
	loc, err := time.LoadLocation(in.Timezone)
	if err != nil {
		loc = time.UTC
	}
	n, err := a.Store.RecordEvents(ctx, in, renderer{c: in.Case, loc: loc, publicURL: a.PublicURL, batch: in.Events})
	if code := store.RefusedCode(err); code != "" {
		// The data itself is refused: retrying would fail for ever and hold
		// the case still. The workflow undoes the change and refuses it.
		a.logger().Error("record refused by PostgreSQL", "ref", in.Ref, "seq_from", in.Events[0].Seq,
			"seq_to", in.Events[len(in.Events)-1].Seq, "sqlstate", code, "error", err)
		return workflows.RecordEventsResult{}, temporal.NewNonRetryableApplicationError(
			"a value of this change cannot be recorded (SQLSTATE "+code+")", workflows.ErrRecordRefused, nil)
	}
	if errors.Is(err, store.ErrSnapshotMissing) {
		// Nothing was written: the case is not opened, and retrying cannot
		// make the snapshot appear.
		a.logger().Error("opening refused: its policy snapshot is not in the record", "ref", in.Ref, "policy_hash", in.PolicyHash, "error", err)
		return workflows.RecordEventsResult{}, temporal.NewNonRetryableApplicationError(
			"the case's policy snapshot is not in the record", workflows.ErrRecordRefused, nil)
	}
	if err != nil {
		return workflows.RecordEventsResult{}, a.recordFailed(in, err)
	}
	for _, ev := range in.Events {
		a.logger().Info("recorded", "ref", in.Ref, "seq", ev.Seq, "type", ev.Type, "stage", ev.Stage)
	}
	return workflows.RecordEventsResult{Inserted: n}, nil
}

// RecordOpening records a case's opening that names its policy snapshot by
// hash (in.PolicyHash): the record copies the snapshot the API kept under
// that hash to the case, in the same transaction, or refuses the opening if
// it has no such snapshot. Otherwise it is RecordEvents.
func (a *Activities) RecordOpening(ctx context.Context, in workflows.RecordEventsInput) (workflows.RecordEventsResult, error) {
	if in.PolicyHash == "" || in.Policy != nil {
		return workflows.RecordEventsResult{}, temporal.NewNonRetryableApplicationError("an opening by hash names its policy snapshot by hash only", "invalid_input", nil)
	}
	return a.RecordEvents(ctx, in)
}

// ErrTypeRecordConflict is the application error type of a step the record
// refused because an event's place on it is taken by other content.
const ErrTypeRecordConflict = "record_conflict"

// recordFailed is the activity's error for a step that was not recorded.
// A record conflict is not retried: the record holds, under the event's
// number, something the case never wrote (a forged row, or another run's
// event), and writing over it or skipping the case's event would both make
// the record false. It is logged as loudly as anything here, for an operator
// to find out how the record came to differ. Anything else (PostgreSQL down
// or slow) is retried until it is written.
func (a *Activities) recordFailed(in workflows.RecordEventsInput, err error) error {
	span := fmt.Sprintf("record %s events %d..%d", in.Ref, in.Events[0].Seq, in.Events[len(in.Events)-1].Seq)
	var conflict *store.RecordConflictError
	if errors.As(err, &conflict) {
		a.logger().Error("RECORD CONFLICT: the case's step was NOT recorded and will not be retried; the record must be investigated",
			"ref", in.Ref, "seq", conflict.Seq, "why", conflict.Why)
		return temporal.NewNonRetryableApplicationError(span+": "+conflict.Error(), ErrTypeRecordConflict, err)
	}
	return fmt.Errorf("%s: %w", span, err)
}

// DeliverNotifications sends the recorded notifications of the given events
// that have not gone yet, each once: one that went is never sent again,
// however often this is retried. A failed send is marked retrying and the
// activity fails so Temporal retries it with backoff; at the last attempt
// (workflows.DeliverMaxAttempts) it is marked failed for good, visible on
// the case and in /metrics, and the case goes on regardless.
func (a *Activities) DeliverNotifications(ctx context.Context, in workflows.DeliverNotificationsInput) (workflows.DeliverNotificationsResult, error) {
	pending, err := a.Store.PendingNotifications(ctx, in.Ref, in.Seqs)
	if err != nil {
		return workflows.DeliverNotificationsResult{}, err
	}
	attempt := activity.GetInfo(ctx).Attempt
	failStatus := statusAfterFailure(attempt)
	var res workflows.DeliverNotificationsResult
	var failed []error
	for _, n := range pending {
		// Each send has its own deadline, well inside the attempt's, so a
		// mail server that hangs fails this notification and the attempt
		// still marks it and reports, rather than timing out unmarked.
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		status, sendErr := a.deliver(sctx, n)
		cancel()
		activity.RecordHeartbeat(ctx, n.ID)
		if sendErr != nil {
			a.logger().Warn("notification not delivered", "ref", n.Ref, "seq", n.Seq, "channel", n.Channel, "to", n.Target,
				"attempt", attempt, "of", workflows.DeliverMaxAttempts, "now", failStatus, "error", sendErr)
			if err := a.Store.MarkNotification(ctx, n.ID, failStatus, sendErr); err != nil {
				return res, err
			}
			failed = append(failed, sendErr)
			continue
		}
		if err := a.Store.MarkNotification(ctx, n.ID, status, nil); err != nil {
			return res, err
		}
		switch status {
		case store.NoteLogged:
			res.Logged++
		default:
			res.Sent++
		}
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("%d notification(s) of %s not delivered: %w", len(failed), in.Ref, errors.Join(failed...))
	}
	return res, nil
}

// sendTimeout bounds one notification's send (SMTP or webhook).
const sendTimeout = 20 * time.Second

// statusAfterFailure is what a failed attempt leaves: retrying while
// Temporal will try again, failed at the last attempt.
func statusAfterFailure(attempt int32) string {
	if attempt >= workflows.DeliverMaxAttempts {
		return store.NoteFailed
	}
	return store.NoteRetrying
}

// deliver sends one notification by its channel and says how it went.
func (a *Activities) deliver(ctx context.Context, n store.Notification) (string, error) {
	switch n.Channel {
	case store.ChannelWebhook:
		if a.Webhooks == nil {
			return "", errors.New("webhooks are not configured in this worker")
		}
		hook, err := a.Store.GetWebhook(ctx, n.Target)
		if err != nil {
			return "", fmt.Errorf("webhook of %s: %w", n.Target, err)
		}
		if err := a.Webhooks.Post(ctx, hook.URL, hook.Secret, DeliveryID(n.Ref, n.Seq, n.Target), n.Subject, []byte(n.Body)); err != nil {
			return "", err
		}
		a.logger().Info("webhook delivered", "ref", n.Ref, "seq", n.Seq, "agency", n.Target)
		return store.NoteSent, nil
	default:
		if a.Mailer == nil {
			a.logger().Info("notification (not mailed: SMTP_URL unset)", "ref", n.Ref, "seq", n.Seq,
				"to", n.RecipientEmail, "subject", n.Subject)
			return store.NoteLogged, nil
		}
		err := a.Mailer.Send(ctx, Mail{To: n.RecipientEmail, ToName: n.RecipientName, Subject: n.Subject,
			Body: n.Body, HTML: n.HTML, MessageID: MessageID(n)})
		if err != nil {
			return "", err
		}
		a.logger().Info("notification mailed", "ref", n.Ref, "seq", n.Seq, "to", n.RecipientEmail)
		return store.NoteSent, nil
	}
}

// DeliveryID is a webhook delivery's stable id: the X-Escalate-Delivery
// header on every attempt, and the id in its body.
func DeliveryID(ref string, seq int, agency string) string {
	return fmt.Sprintf("%s.%d.%s", ref, seq, agency)
}

// MessageID is a notification's stable Message-ID: the same on every
// attempt, so a mail system that got it twice can tell.
func MessageID(n store.Notification) string {
	return fmt.Sprintf("%s.%d.%d@escalate", strings.ToLower(n.Ref), n.Seq, n.ID)
}

func (a *Activities) logger() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}
