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
	"go.temporal.io/sdk/temporal"

	"escalate/store"
	"escalate/workflows"
)

// Activities holds what the activities need. Its methods are registered by
// name; the names are the workflows.Activity* constants.
type Activities struct {
	Store     *store.Store
	Mailer    Mailer
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
	render := func(ev workflows.Event, r workflows.Recipient) (string, string) {
		return Render(ev, r, in.Case, loc, a.PublicURL)
	}
	n, err := a.Store.RecordEvents(ctx, in, render)
	if err != nil {
		return workflows.RecordEventsResult{}, fmt.Errorf("record %s events %d..%d: %w", in.Ref, in.Events[0].Seq, in.Events[len(in.Events)-1].Seq, err)
	}
	for _, ev := range in.Events {
		a.logger().Info("recorded", "ref", in.Ref, "seq", ev.Seq, "type", ev.Type, "stage", ev.Stage)
	}
	return workflows.RecordEventsResult{Inserted: n}, nil
}

// DeliverNotifications sends the recorded notifications of the given events
// that have not gone yet. Without a mailer they are logged and marked so.
func (a *Activities) DeliverNotifications(ctx context.Context, in workflows.DeliverNotificationsInput) (workflows.DeliverNotificationsResult, error) {
	pending, err := a.Store.PendingNotifications(ctx, in.Ref, in.Seqs)
	if err != nil {
		return workflows.DeliverNotificationsResult{}, err
	}
	var res workflows.DeliverNotificationsResult
	var failed []error
	for _, n := range pending {
		if a.Mailer == nil {
			a.logger().Info("notification (not mailed: SMTP_URL unset)", "ref", n.Ref, "seq", n.Seq,
				"to", n.RecipientEmail, "subject", n.Subject)
			if err := a.Store.MarkNotification(ctx, n.ID, "logged", nil); err != nil {
				return res, err
			}
			res.Logged++
			continue
		}
		msgID := fmt.Sprintf("%s.%d.%d@escalate", strings.ToLower(n.Ref), n.Seq, n.ID)
		sendErr := a.Mailer.Send(ctx, Mail{To: n.RecipientEmail, ToName: n.RecipientName, Subject: n.Subject, Body: n.Body, MessageID: msgID})
		if sendErr != nil {
			a.logger().Warn("notification not sent", "ref", n.Ref, "seq", n.Seq, "to", n.RecipientEmail, "error", sendErr,
				"attempt", activity.GetInfo(ctx).Attempt)
			if err := a.Store.MarkNotification(ctx, n.ID, "failed", sendErr); err != nil {
				return res, err
			}
			failed = append(failed, sendErr)
			continue
		}
		if err := a.Store.MarkNotification(ctx, n.ID, "sent", nil); err != nil {
			return res, err
		}
		a.logger().Info("notification sent", "ref", n.Ref, "seq", n.Seq, "to", n.RecipientEmail)
		res.Sent++
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("%d notification(s) not sent: %w", len(failed), errors.Join(failed...))
	}
	return res, nil
}

func (a *Activities) logger() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}
