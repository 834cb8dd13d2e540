-- Events carry structured fields (workflows/events.go says which event
-- carries which), so the record page and the reports read what an event
-- means from columns and never parse its text:
--
--   from_stage, to_stage  a stage move's stages (equal for a next step or level)
--   move                  the kind of move (opened, escalated, next_step, ...)
--   step, level           the step or level a move entered
--   agreed                the deadline (due_at) a move set is an agreed one
--   resolved              on the event that closed the case: resolved or not
--   closed_status         on the event that closed the case: its status
--
-- Typed columns rather than one jsonb column: the reports aggregate on them
-- (max(to_stage), count by move) with plain indexes, PostgreSQL checks their
-- types, and the record's seal covers each as one plain value.
--
-- seal_version says what an event's hash or seal covers: 1, the fields every
-- event had before this migration (text, type, stage, due_at, ...); 2, those
-- and the structured fields. Events written before this migration keep the
-- seal they were written with and still verify; their structured fields are
-- derived below, once, from their types and texts, and verification lists
-- them as derived (not covered by a seal). A writer that does not know the
-- fields (a worker of the previous release during a rolling deploy) writes
-- version 1, truthfully.
ALTER TABLE events
    ADD COLUMN from_stage    integer CHECK (from_stage >= 1),
    ADD COLUMN to_stage      integer CHECK (to_stage >= 1),
    ADD COLUMN move          text,
    ADD COLUMN step          integer CHECK (step >= 1),
    ADD COLUMN level         integer CHECK (level >= 1),
    ADD COLUMN agreed        boolean NOT NULL DEFAULT false,
    ADD COLUMN resolved      boolean,
    ADD COLUMN closed_status text,
    ADD COLUMN seal_version  smallint NOT NULL DEFAULT 1 CHECK (seal_version IN (1, 2));

-- The backfill: the only place that reads the old events' texts. The record
-- is append-only; its trigger is switched off for this one statement, in
-- this migration's transaction, by the tables' owner.
ALTER TABLE events DISABLE TRIGGER events_no_update_delete;

-- Every stage, step or level entered, in order, with the one entered before
-- it; an island is a run of entries at the same stage (its steps, or its
-- levels).
CREATE TEMPORARY TABLE ev13_entered ON COMMIT DROP AS
SELECT e.id, e.ref, e.seq, e.at, e.type, e.stage, e.text,
       lag(e.stage) OVER w AS prev_stage,
       lag(e.seq) OVER w AS prev_seq,
       row_number() OVER w AS nth,
       (lag(e.stage) OVER w IS DISTINCT FROM e.stage)::int AS starts_island
FROM events e
WHERE e.type IN ('stage_entered', 'step_entered')
WINDOW w AS (PARTITION BY e.ref ORDER BY e.seq);

CREATE TEMPORARY TABLE ev13_moves ON COMMIT DROP AS
WITH islands AS (
    SELECT x.*, sum(x.starts_island) OVER (PARTITION BY x.ref ORDER BY x.seq) AS island
    FROM ev13_entered x
), counted AS (
    -- Per island (window functions, so the backfill stays linear): the
    -- steps and levels entered so far, and whether it has steps or more
    -- than one level at all.
    SELECT i.*,
           count(*) FILTER (WHERE i.type = 'step_entered') OVER (PARTITION BY i.ref, i.island ORDER BY i.seq) AS steps_so_far,
           count(*) FILTER (WHERE i.type = 'stage_entered') OVER (PARTITION BY i.ref, i.island ORDER BY i.seq) AS levels_so_far,
           bool_or(i.type = 'step_entered') OVER (PARTITION BY i.ref, i.island) AS island_has_steps,
           count(*) FILTER (WHERE i.type = 'stage_entered') OVER (PARTITION BY i.ref, i.island) AS island_levels
    FROM islands i
), stages AS (
    -- The stage of the policy the case ran under, where the record kept it.
    SELECT DISTINCT ON (cp.ref, (s.value->>'number')::int) cp.ref, (s.value->>'number')::int AS number, s.value AS stage
    FROM case_policies cp
    CROSS JOIN LATERAL jsonb_array_elements(cp.content->'stages') s
), causes AS (
    -- What was written in the same step as each entry, between it and the
    -- entry before it: a send-back, or a deadline passing (and how).
    SELECT c.id,
           bool_or(e.type = 'sent_back') AS sent_back,
           bool_or(e.type = 'deadline_passed') AS deadline,
           bool_or(e.type = 'deadline_passed' AND e.text LIKE '%referred to the partnership for mediation%') AS mediation
    FROM counted c
    JOIN events e ON e.ref = c.ref AND e.seq > c.prev_seq AND e.seq < c.seq AND e.at = c.at
                 AND e.type IN ('sent_back', 'deadline_passed')
    GROUP BY c.id
)
SELECT c.id, c.ref, c.seq, c.at, c.type, c.stage,
       c.prev_stage AS from_stage,
       CASE
           WHEN c.nth = 1 THEN 'opened'
           WHEN k.sent_back THEN 'sent_back'
           WHEN k.deadline AND c.type = 'step_entered' THEN 'deadline_next_step'
           WHEN k.deadline AND k.mediation THEN 'deadline_mediation'
           WHEN k.deadline THEN 'deadline_passed'
           WHEN c.type = 'step_entered' THEN 'next_step'
           WHEN c.stage = c.prev_stage THEN 'next_level'
           ELSE 'escalated'
       END AS move,
       CASE
           WHEN c.type = 'step_entered' THEN 1 + c.steps_so_far
           WHEN c.island_has_steps OR jsonb_array_length(coalesce(st.stage->'steps', '[]'::jsonb)) > 0 THEN 1
       END AS step,
       CASE
           WHEN c.type = 'stage_entered' AND (c.island_levels > 1 OR coalesce((st.stage->>'repeat')::boolean, false))
               THEN c.levels_so_far
       END AS level,
       (c.type = 'stage_entered' AND c.text LIKE '%(agreed;%') AS agreed
FROM counted c
LEFT JOIN causes k ON k.id = c.id
LEFT JOIN stages st ON st.ref = c.ref AND st.number = c.stage;

CREATE INDEX ON ev13_moves (ref, at, seq);
ANALYZE ev13_moves;

-- The entries.
UPDATE events e
SET from_stage = m.from_stage, to_stage = m.stage, move = m.move, step = m.step, level = m.level, agreed = m.agreed
FROM ev13_moves m
WHERE e.id = m.id;

-- What caused each move (an escalation, a send-back, a deadline passing),
-- written in the same step as the entry that follows it, at the same
-- instant. A deadline that passed with no move (the stage stayed open,
-- overdue) gets none.
UPDATE events e
SET from_stage = e.stage, to_stage = m.stage, move = m.move
FROM ev13_moves m
WHERE e.type IN ('escalated', 'sent_back', 'deadline_passed')
  AND m.ref = e.ref AND m.at = e.at
  AND m.seq = (SELECT min(n.seq) FROM ev13_moves n WHERE n.ref = e.ref AND n.seq > e.seq AND n.at = e.at);

-- The events that closed a case.
UPDATE events SET resolved = true, closed_status = 'resolved' WHERE type = 'agreement_confirmed';
UPDATE events SET resolved = false, closed_status = 'withdrawn' WHERE type = 'withdrawn';
UPDATE events SET resolved = false, closed_status = 'cancelled' WHERE type = 'case_cancelled';
UPDATE events e
SET resolved = (o.closed = 'resolved'), closed_status = o.closed
FROM (
    SELECT x.id,
           CASE
               WHEN x.text LIKE '%closed unresolved%' THEN 'unresolved'
               WHEN x.text LIKE '%closed resolved%' THEN 'resolved'
               WHEN c.status IN ('resolved', 'unresolved') THEN c.status
           END AS closed
    FROM events x JOIN cases c ON c.ref = x.ref
    WHERE x.type = 'outcome_recorded'
) o
WHERE e.id = o.id AND o.closed IS NOT NULL;

ALTER TABLE events ENABLE TRIGGER events_no_update_delete;

-- The report's highest stage reached per case.
CREATE INDEX events_ref_to_stage ON events (ref, to_stage) WHERE to_stage IS NOT NULL;
