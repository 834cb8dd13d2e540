-- The oversight report's figures, kept as they change rather than computed
-- case by case at read time (issue 16; docs/performance.md, "Oversight
-- report"). PostgreSQL keeps them, with triggers, so every writer keeps them
-- the same way: the record (store.RecordEvents), this migration's backfill,
-- and a bulk load that disables the triggers and then calls report_rebuild().
--
-- On each case, from its events (the rules the report used to apply per
-- case at read time):
--   max_to_stage    the highest stage any move took it to (events.to_stage)
--   highest_stage   the highest stage it entered: that, or where it stands
--   resolved_seq, resolved_stage, resolved_at
--                   the event that resolved it: the latest (by seq) with
--                   resolved, its stage and instant
ALTER TABLE cases
    ADD COLUMN max_to_stage   integer NOT NULL DEFAULT 0,
    ADD COLUMN highest_stage  integer GENERATED ALWAYS AS (greatest(stage, max_to_stage)) STORED,
    ADD COLUMN resolved_seq   integer,
    ADD COLUMN resolved_stage integer,
    ADD COLUMN resolved_at    timestamptz;

-- The report's day: the UTC date of an instant. Rollups are by UTC day; the
-- report reads whole UTC days from them and the rest of its period (a
-- reporting year starts at 23:00Z in summer) from the cases themselves.
CREATE FUNCTION report_day(t timestamptz) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (t AT TIME ZONE 'UTC')::date $$;

-- What one case raised counts for in the report: every dimension it is
-- counted under and its key there. The agencies by directory id are the
-- id, or for a case whose agency matched none the agency as declared (the
-- one home of that rule: store/reports.go reads it through here too).
CREATE FUNCTION report_raised_keys(category text, raiser text, respondent text, raiser_id text, respondent_id text,
                                   highest integer, status text)
    RETURNS TABLE (dim text, key text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    VALUES ('raised', ''),
           ('category', category),
           ('raiser', raiser),
           ('respondent', respondent),
           ('raiser_id', CASE WHEN raiser_id <> '' THEN raiser_id ELSE raiser END),
           ('respondent_id', CASE WHEN respondent_id <> '' THEN respondent_id ELSE respondent END),
           ('highest', highest::text),
           ('status', status)
$$;

-- Cases raised, by policy, UTC day raised, dimension and key.
CREATE TABLE report_raised (
    policy text    NOT NULL,
    day    date    NOT NULL,
    dim    text    NOT NULL,
    key    text    NOT NULL,
    n      integer NOT NULL,
    PRIMARY KEY (policy, day, dim, key)
);

-- Deadlines passed (deadline_passed events), by the case's policy, UTC day
-- and stage.
CREATE TABLE report_deadlines (
    policy text    NOT NULL,
    day    date    NOT NULL,
    stage  integer NOT NULL,
    n      integer NOT NULL,
    PRIMARY KEY (policy, day, stage)
);

GRANT SELECT, INSERT, UPDATE ON report_raised, report_deadlines TO escalate_app;

-- Writers of one policy's rollups take turns: each transaction that
-- changes them first takes this lock, so concurrent record transactions
-- (which may touch several rows, in different statements) never deadlock
-- on the rows; within a statement rows are written in key order. The
-- counts of cases raised are written at commit (deferred triggers), so the
-- lock is held only from there to the end of the transaction.
CREATE FUNCTION report_lock(policy text) RETURNS void
    LANGUAGE sql AS $$ SELECT pg_advisory_xact_lock(hashtext('report_rollups'), hashtext(policy)) $$;

-- report_rebuild sets this for its own transaction: the triggers then do
-- not fire (their WHEN conditions), and it recomputes what they keep.
CREATE FUNCTION report_rebuilding() RETURNS boolean
    LANGUAGE sql STABLE AS $$ SELECT coalesce(current_setting('escalate.report_rebuild', true), '') = 'on' $$;

-- A case inserted, changed or removed: the difference between what it
-- counted for before (OLD) and after (NEW). Several changes to one case in
-- a transaction each add theirs, which sum to the whole change.
CREATE FUNCTION report_cases_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Both policies' locks (a case that changed policy), in order.
    PERFORM report_lock(p.policy)
    FROM (SELECT DISTINCT x.policy FROM (VALUES (OLD.policy), (NEW.policy)) x (policy)
          WHERE x.policy IS NOT NULL ORDER BY x.policy) p;
    INSERT INTO report_raised AS r (policy, day, dim, key, n)
    SELECT x.policy, x.day, x.dim, x.key, sum(x.d)
    FROM (
        SELECT NEW.policy AS policy, report_day(NEW.created_at) AS day, k.dim, k.key, 1 AS d
        FROM report_raised_keys(NEW.category, NEW.raiser_agency, NEW.respondent_agency, NEW.raiser_agency_id,
                                NEW.respondent_agency_id, NEW.highest_stage, NEW.status) k
        WHERE TG_OP <> 'DELETE'
        UNION ALL
        SELECT OLD.policy, report_day(OLD.created_at), k.dim, k.key, -1
        FROM report_raised_keys(OLD.category, OLD.raiser_agency, OLD.respondent_agency, OLD.raiser_agency_id,
                                OLD.respondent_agency_id, OLD.highest_stage, OLD.status) k
        WHERE TG_OP <> 'INSERT'
    ) x
    GROUP BY x.policy, x.day, x.dim, x.key
    HAVING sum(x.d) <> 0
    ORDER BY x.policy, x.day, x.dim, x.key
    ON CONFLICT (policy, day, dim, key) DO UPDATE SET n = r.n + EXCLUDED.n;
    RETURN NULL;
END;
$$;

-- At commit (a record transaction writes its case row more than once:
-- the step, the events' derived columns, the seal).
CREATE CONSTRAINT TRIGGER report_cases_inserted AFTER INSERT OR DELETE ON cases
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NOT report_rebuilding())
    EXECUTE FUNCTION report_cases_changed();
-- Only a change to what the case counts for calls it (not a seal, not a
-- new deadline).
CREATE CONSTRAINT TRIGGER report_cases_updated AFTER UPDATE ON cases
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NOT report_rebuilding()
          AND (OLD.policy, report_day(OLD.created_at), OLD.category, OLD.raiser_agency, OLD.respondent_agency,
               OLD.raiser_agency_id, OLD.respondent_agency_id, OLD.highest_stage, OLD.status)
              IS DISTINCT FROM
              (NEW.policy, report_day(NEW.created_at), NEW.category, NEW.raiser_agency, NEW.respondent_agency,
               NEW.raiser_agency_id, NEW.respondent_agency_id, NEW.highest_stage, NEW.status))
    EXECUTE FUNCTION report_cases_changed();

-- A case moved to another policy takes its deadlines passed with it, as
-- they stand when it moves (so at once, not at commit: a deadline recorded
-- later in the transaction counts where the case then is).
CREATE FUNCTION report_case_policy_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM report_lock(p.policy)
    FROM (SELECT x.policy FROM (VALUES (OLD.policy), (NEW.policy)) x (policy) ORDER BY x.policy) p;
    INSERT INTO report_deadlines AS r (policy, day, stage, n)
    SELECT x.policy, x.day, x.stage, sum(x.d)
    FROM (
        SELECT p.policy, report_day(e.at) AS day, e.stage, p.d
        FROM events e, (VALUES (OLD.policy, -1), (NEW.policy, 1)) p (policy, d)
        WHERE e.ref = NEW.ref AND e.type = 'deadline_passed'
    ) x
    GROUP BY x.policy, x.day, x.stage
    ORDER BY x.policy, x.day, x.stage
    ON CONFLICT (policy, day, stage) DO UPDATE SET n = r.n + EXCLUDED.n;
    RETURN NULL;
END;
$$;

CREATE TRIGGER report_case_policy_changed AFTER UPDATE ON cases
    FOR EACH ROW WHEN (NOT report_rebuilding() AND OLD.policy <> NEW.policy)
    EXECUTE FUNCTION report_case_policy_changed();

-- An event recorded: the case's highest stage and resolving event. The
-- record is append-only, so inserts are all there is; an event already
-- recorded (ON CONFLICT DO NOTHING) fires nothing.
CREATE FUNCTION report_event_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cases SET
        max_to_stage = greatest(max_to_stage, coalesce(NEW.to_stage, 0)),
        resolved_seq = CASE WHEN NEW.resolved AND NEW.seq > coalesce(resolved_seq, 0) THEN NEW.seq ELSE resolved_seq END,
        resolved_stage = CASE WHEN NEW.resolved AND NEW.seq > coalesce(resolved_seq, 0) THEN NEW.stage ELSE resolved_stage END,
        resolved_at = CASE WHEN NEW.resolved AND NEW.seq > coalesce(resolved_seq, 0) THEN NEW.at ELSE resolved_at END
    WHERE ref = NEW.ref
      AND (coalesce(NEW.to_stage, 0) > max_to_stage OR (NEW.resolved AND NEW.seq > coalesce(resolved_seq, 0)));
    RETURN NULL;
END;
$$;

CREATE TRIGGER report_event_recorded AFTER INSERT ON events
    FOR EACH ROW WHEN (NOT report_rebuilding() AND (NEW.to_stage IS NOT NULL OR NEW.resolved))
    EXECUTE FUNCTION report_event_recorded();

-- A deadline passed counts for the case's policy.
CREATE FUNCTION report_deadline_passed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pol text;
BEGIN
    SELECT policy INTO pol FROM cases WHERE ref = NEW.ref;
    PERFORM report_lock(pol);
    INSERT INTO report_deadlines AS r (policy, day, stage, n)
    VALUES (pol, report_day(NEW.at), NEW.stage, 1)
    ON CONFLICT (policy, day, stage) DO UPDATE SET n = r.n + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER report_deadline_passed AFTER INSERT ON events
    FOR EACH ROW WHEN (NOT report_rebuilding() AND NEW.type = 'deadline_passed')
    EXECUTE FUNCTION report_deadline_passed();

-- Everything recomputed from the cases and events: this migration's
-- backfill, and a bulk load's (COPY with the triggers disabled). It holds
-- off writers of both tables while it runs.
CREATE FUNCTION report_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE cases, events IN SHARE ROW EXCLUSIVE MODE;
    PERFORM set_config('escalate.report_rebuild', 'on', true);
    UPDATE cases c SET
        max_to_stage = coalesce(d.max_to_stage, 0),
        resolved_seq = d.resolved_seq, resolved_stage = d.resolved_stage, resolved_at = d.resolved_at
    FROM (
        SELECT c.ref, m.max_to_stage, r.seq AS resolved_seq, r.stage AS resolved_stage, r.at AS resolved_at
        FROM cases c
        LEFT JOIN (SELECT ref, max(to_stage) AS max_to_stage FROM events WHERE to_stage IS NOT NULL GROUP BY ref) m
               ON m.ref = c.ref
        LEFT JOIN (SELECT DISTINCT ON (ref) ref, seq, stage, at FROM events WHERE resolved ORDER BY ref, seq DESC) r
               ON r.ref = c.ref
    ) d
    WHERE d.ref = c.ref
      AND (c.max_to_stage, c.resolved_seq, c.resolved_stage, c.resolved_at)
          IS DISTINCT FROM (coalesce(d.max_to_stage, 0), d.resolved_seq, d.resolved_stage, d.resolved_at);
    DELETE FROM report_raised;
    INSERT INTO report_raised (policy, day, dim, key, n)
    SELECT c.policy, report_day(c.created_at), k.dim, k.key, count(*)
    FROM cases c
    CROSS JOIN LATERAL report_raised_keys(c.category, c.raiser_agency, c.respondent_agency, c.raiser_agency_id,
                                          c.respondent_agency_id, c.highest_stage, c.status) k
    GROUP BY 1, 2, 3, 4;
    DELETE FROM report_deadlines;
    INSERT INTO report_deadlines (policy, day, stage, n)
    SELECT c.policy, report_day(e.at), e.stage, count(*)
    FROM events e JOIN cases c ON c.ref = e.ref
    WHERE e.type = 'deadline_passed'
    GROUP BY 1, 2, 3;
    PERFORM set_config('escalate.report_rebuild', '', true);
END;
$$;

SELECT report_rebuild();

-- Time to resolution reads only the resolved cases of the period, from
-- this index alone (an index-only scan once vacuumed).
CREATE INDEX cases_resolved_policy_created ON cases (policy, created_at)
    INCLUDE (stage, closed_at, resolved_stage, resolved_at)
    WHERE status = 'resolved' AND closed_at IS NOT NULL;

-- Open and overdue now (store.openNow, with store.overdueSQL's condition,
-- which names closed_at) from the index alone: 000015's index with
-- closed_at in it (always NULL there), so no open case's row is read.
DROP INDEX cases_open_policy_due;
CREATE INDEX cases_open_policy_due ON cases (policy, due_at) INCLUDE (closed_at) WHERE closed_at IS NULL;
