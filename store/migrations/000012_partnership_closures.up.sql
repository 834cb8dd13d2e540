-- A partnership's closure dates recorded through the API
-- (POST /v1/admin/policies/{policy}/closures): one-off non-working days,
-- such as a bank holiday for a state occasion. One row per policy and day:
-- recording the same day again changes nothing. Cases count with them from
-- when they are recorded (each open case is sent the date; a case that
-- starts later has it in its policy snapshot). Never changed or removed:
-- deadlines already moved by a closure stay moved.
CREATE TABLE partnership_closures (
    policy_id         text        NOT NULL,
    day               date        NOT NULL,
    reason            text        NOT NULL,
    recorded_by       text        NOT NULL,
    recorded_by_email text        NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (policy_id, day)
);
GRANT SELECT, INSERT ON partnership_closures TO escalate_app;

-- Each open case of a policy is sent a new closure.
CREATE INDEX cases_open_policy ON cases (policy, created_at, ref) WHERE closed_at IS NULL;
