-- 000016's report_rebuild(), without the learning.
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
DROP INDEX IF EXISTS cases_learning_policy_at;
DROP TRIGGER IF EXISTS report_case_learning ON cases;
DROP FUNCTION IF EXISTS report_case_learning();
DROP FUNCTION IF EXISTS report_learning_at(jsonb);
DROP FUNCTION IF EXISTS report_learning(jsonb);
ALTER TABLE cases
    DROP COLUMN IF EXISTS learning_entry,
    DROP COLUMN IF EXISTS learning_at;
