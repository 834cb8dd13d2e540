-- The learning a case records, kept on the case (issue 16; docs/performance.md,
-- "Oversight report"), so the report reads only the period's learning rather
-- than every learning case's whole snapshot, decoded in Go, to find when it
-- was recorded. It is computed from the snapshot alone, as store.learningOf
-- reads it (the tests hold the two to each other):
--   learning_entry  the report's entry (store.LearningEntry as JSON: ref,
--                   policy, category, stage, learning, at, source), or NULL
--                   for a case that records none; "at" is the snapshot's own
--                   JSON string, so Go reads the very instant it wrote
--   learning_at     that instant as PostgreSQL keeps it (to the microsecond),
--                   for the index; -infinity when PostgreSQL cannot read it
--                   (a Go time it refuses: year 0, an offset beyond 15:59;
--                   null), and the report then reads the entry whatever the
--                   period; NULL exactly when the entry is
-- A trigger keeps both as the snapshot is written; a bulk load that disables
-- it (store.ReportTriggers) calls report_rebuild(), which recomputes them.
ALTER TABLE cases
    ADD COLUMN learning_entry jsonb,
    ADD COLUMN learning_at    timestamptz;

-- What learning a snapshot records, when and how (store.learningOf):
-- closed with learning and a closing instant, the learning of the outcome,
-- or of the agreement when the agreement records the same learning and was
-- agreed; open, the learning of an agreement proposed. A member absent or
-- null counts as Go's zero value.
CREATE FUNCTION report_learning(s jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN x.closed AND x.learning <> '' AND jsonb_typeof(s->'closed_at') = 'string' THEN
            jsonb_build_object('ref', s->'ref', 'policy', s->'policy', 'category', s->'category',
                               'stage', s->'stage'->'number', 'learning', s->'learning',
                               'at', CASE WHEN x.agreed THEN s->'agreement'->'at' ELSE s->'closed_at' END,
                               'source', CASE WHEN x.agreed THEN 'agreement' ELSE 'outcome' END)
        WHEN NOT x.closed AND jsonb_typeof(s->'agreement') = 'object'
             AND coalesce(s->'agreement'->>'learning', '') <> '' THEN
            jsonb_build_object('ref', s->'ref', 'policy', s->'policy', 'category', s->'category',
                               'stage', s->'stage'->'number', 'learning', s->'agreement'->'learning',
                               'at', coalesce(s->'agreement'->'proposed_at', '"0001-01-01T00:00:00Z"'),
                               'source', 'proposed_agreement')
    END
    FROM (SELECT coalesce(s->>'status' IN ('resolved', 'withdrawn', 'unresolved', 'cancelled'), false) AS closed,
                 coalesce(s->>'learning', '') AS learning,
                 coalesce(jsonb_typeof(s->'agreement') = 'object' AND jsonb_typeof(s->'agreement'->'at') = 'string'
                          AND coalesce(s->'agreement'->>'learning', '') = coalesce(s->>'learning', ''), false) AS agreed) x
$$;

-- The entry's instant, or -infinity when PostgreSQL cannot read it (not
-- NULL, which the planner would take for any of the million cases without
-- learning): never an error, so no record write is refused for it.
CREATE FUNCTION report_learning_at(entry jsonb) RETURNS timestamptz
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF entry->>'at' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$' THEN
        RETURN (entry->>'at')::timestamptz;
    END IF;
    RETURN '-infinity';
EXCEPTION WHEN data_exception THEN
    RETURN '-infinity';
END;
$$;

-- Before the row is written, so it costs no second version of it; only
-- for a snapshot that holds learning at all (Go leaves an empty one out)
-- or a row that keeps some, so most writes never call it. Also when the
-- derived columns are written directly: they are recomputed.
CREATE FUNCTION report_case_learning() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.learning_entry := report_learning(NEW.snapshot);
    NEW.learning_at := CASE WHEN NEW.learning_entry IS NOT NULL THEN report_learning_at(NEW.learning_entry) END;
    RETURN NEW;
END;
$$;

-- The backfill, before the trigger: only the cases whose snapshot holds
-- learning at all (000015's cases_learning index).
UPDATE cases c SET learning_entry = l.entry, learning_at = report_learning_at(l.entry)
FROM (SELECT ref, report_learning(snapshot) AS entry FROM cases
      WHERE coalesce(snapshot->>'learning', '') <> '' OR coalesce(snapshot->'agreement'->>'learning', '') <> '') l
WHERE c.ref = l.ref AND l.entry IS NOT NULL;

CREATE TRIGGER report_case_learning BEFORE INSERT OR UPDATE OF snapshot, learning_entry, learning_at ON cases
    FOR EACH ROW
    WHEN (NOT report_rebuilding()
          AND (NEW.snapshot ? 'learning' OR NEW.snapshot->'agreement' ? 'learning'
               OR NEW.learning_entry IS NOT NULL OR NEW.learning_at IS NOT NULL))
    EXECUTE FUNCTION report_case_learning();

-- The report reads a period's learning of one policy (or all) from here.
CREATE INDEX cases_learning_policy_at ON cases (policy, learning_at)
    WHERE learning_entry IS NOT NULL OR learning_at IS NOT NULL;

-- 000016's, and the learning recomputed too.
CREATE OR REPLACE FUNCTION report_rebuild() RETURNS void LANGUAGE plpgsql AS $$
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
    -- The cases whose snapshot holds learning, and those that kept some.
    UPDATE cases c SET learning_entry = l.entry, learning_at = l.at
    FROM (
        SELECT x.ref, x.entry, CASE WHEN x.entry IS NOT NULL THEN report_learning_at(x.entry) END AS at
        FROM (SELECT ref, report_learning(snapshot) AS entry FROM cases
              WHERE coalesce(snapshot->>'learning', '') <> '' OR coalesce(snapshot->'agreement'->>'learning', '') <> ''
                 OR learning_entry IS NOT NULL OR learning_at IS NOT NULL) x
    ) l
    WHERE c.ref = l.ref AND (c.learning_entry, c.learning_at) IS DISTINCT FROM (l.entry, l.at);
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
