-- The policy each case runs under, as it was when the case opened (the
-- workflow's snapshot), with its SHA-256: the record names its stages from
-- it, not from the policy loaded today, and it outlives Temporal's history.
CREATE TABLE case_policies (
    ref        text        PRIMARY KEY REFERENCES cases (ref),
    policy_id  text        NOT NULL,
    hash       bytea       NOT NULL,
    content    jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON case_policies TO escalate_app;
