-- The oversight report counts the open cases and reads the cases with
-- learning: with these partial indexes it reads only those rows, not every
-- case ever raised (make bench measures it; docs/performance.md).
CREATE INDEX cases_open_policy_due ON cases (policy, due_at) WHERE closed_at IS NULL;
CREATE INDEX cases_learning ON cases (policy)
    WHERE coalesce(snapshot->>'learning', '') <> '' OR coalesce(snapshot->'agreement'->>'learning', '') <> '';
