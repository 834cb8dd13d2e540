package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// DigestDaysBefore is how many days before a meeting its digest is sent,
// at DigestHour local time.
const (
	DigestDaysBefore = 7
	DigestHour       = 9
)

// DigestSchedules keeps one Temporal Schedule per partnership (policy with
// a business office, drills left out) that starts DigestWorkflow: before
// each of its meetings to come, or on the first of each month when none is
// set. escalate setup syncs them all; the meeting-dates page syncs its own
// policy's whenever a date changes. They are visible, and can be paused or
// triggered, in the Temporal UI under Schedules.
type DigestSchedules struct {
	Client   client.Client
	Store    *store.Store
	Policies *policies.Registry
	Log      *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// DigestScheduleID is the schedule's id for a policy.
func DigestScheduleID(policy string) string { return workflows.DigestSchedulePrefix + policy }

// DigestSpec is when a policy's digest runs, from its meeting dates: at
// DigestHour, DigestDaysBefore days before each meeting to come (or the
// next day, for a meeting nearer than that); with none, on the first of
// each month. reason is workflows.DigestBeforeMeeting or DigestMonthly.
func DigestSpec(meetings []string, now time.Time, loc *time.Location) (client.ScheduleSpec, string) {
	spec := client.ScheduleSpec{TimeZoneName: loc.String()}
	today := now.In(loc).Format(time.DateOnly)
	tomorrow := now.In(loc).AddDate(0, 0, 1).Format(time.DateOnly)
	seen := map[string]bool{}
	var days []string
	for _, m := range meetings {
		d, err := time.ParseInLocation(time.DateOnly, m, loc)
		if err != nil || m <= today {
			continue
		}
		send := d.AddDate(0, 0, -DigestDaysBefore).Format(time.DateOnly)
		if send <= today {
			send = tomorrow
			if send > m {
				continue
			}
		}
		if !seen[send] {
			seen[send] = true
			days = append(days, send)
		}
	}
	sort.Strings(days)
	for _, s := range days {
		d, _ := time.ParseInLocation(time.DateOnly, s, loc)
		spec.Calendars = append(spec.Calendars, client.ScheduleCalendarSpec{
			Year: []client.ScheduleRange{{Start: d.Year()}}, Month: []client.ScheduleRange{{Start: int(d.Month())}},
			DayOfMonth: []client.ScheduleRange{{Start: d.Day()}}, Hour: []client.ScheduleRange{{Start: DigestHour}},
			Comment: "before a meeting",
		})
	}
	if len(spec.Calendars) > 0 {
		return spec, workflows.DigestBeforeMeeting
	}
	spec.Calendars = []client.ScheduleCalendarSpec{{DayOfMonth: []client.ScheduleRange{{Start: 1}}, Hour: []client.ScheduleRange{{Start: DigestHour}},
		Month: []client.ScheduleRange{{Start: 1, End: 12}}, Comment: "monthly"}}
	return spec, workflows.DigestMonthly
}

// SyncAll brings every partnership's digest schedule in step, each from
// the same instant.
func (d *DigestSchedules) SyncAll(ctx context.Context) error {
	now := d.now()
	var errs []error
	for _, p := range d.Policies.All() {
		if p.Drill || p.BusinessOffice.Email == "" {
			continue
		}
		if err := d.sync(ctx, p, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Sync creates the policy's digest schedule, or updates it to the policy
// and meeting dates of now.
func (d *DigestSchedules) Sync(ctx context.Context, policyID string) error {
	p, ok := d.Policies.Get(policyID)
	if !ok {
		return fmt.Errorf("digest schedule: unknown policy %q", policyID)
	}
	return d.sync(ctx, p, d.now())
}

func (d *DigestSchedules) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// sync is Sync for a policy already looked up, at now.
func (d *DigestSchedules) sync(ctx context.Context, p policies.Policy, now time.Time) error {
	loc := time.UTC
	if clk, err := p.Clock(); err == nil && clk.Location != nil {
		loc = clk.Location
	}
	meetings, err := d.Store.Meetings(ctx, p.ID)
	if err != nil {
		return fmt.Errorf("digest schedule of %s: %w", p.ID, err)
	}
	spec, reason := DigestSpec(meetings, now, loc)
	id := DigestScheduleID(p.ID)
	action := &client.ScheduleWorkflowAction{
		ID: id, Workflow: workflows.DigestWorkflowName, TaskQueue: workflows.TaskQueue,
		Args:                     []any{workflows.DigestInput{Policy: p, Reason: reason}},
		WorkflowExecutionTimeout: 6 * time.Hour,
		StaticSummary:            "Escalations digest for " + p.Name,
	}
	sc := d.Client.ScheduleClient()
	_, err = sc.Create(ctx, client.ScheduleOptions{ID: id, Spec: spec, Action: action,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, Note: "Created by escalate: the partnership digest"})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		err = sc.GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				s := in.Description.Schedule
				s.Spec, s.Action = &spec, action
				return &client.ScheduleUpdate{Schedule: &s}, nil
			},
		})
	}
	if err != nil {
		return fmt.Errorf("digest schedule of %s: %w", p.ID, err)
	}
	if d.Log != nil {
		d.Log.Info("digest schedule in step", "policy", p.ID, "schedule", id, "when", reason, "runs", len(spec.Calendars))
	}
	return nil
}
