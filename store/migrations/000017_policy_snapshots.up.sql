-- Policy snapshots by the SHA-256 of their JSON, kept by the API before it
-- starts a case under one. The case's opening record names its snapshot by
-- this hash and copies it into case_policies, rather than carrying the
-- whole snapshot through Temporal a second time (it is already in the
-- workflow's input; docs/performance.md). Cases opened under the same
-- policy, calendar year and closures share one row.
CREATE TABLE policy_snapshots (
    hash       bytea       PRIMARY KEY,
    policy_id  text        NOT NULL,
    content    jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON policy_snapshots TO escalate_app;
