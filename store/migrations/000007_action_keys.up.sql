-- Idempotency-Key of the action routes (POST /v1/cases/{ref}/...), per
-- caller: the request it was first used for (its hash covers the case, the
-- action and the body), and the first successful answer, replayed to a
-- retry. Creating a case keeps its own table (idempotency_keys), whose key
-- also reserves a reference.
CREATE TABLE action_keys (
    owner        text        NOT NULL,
    key          text        NOT NULL,
    ref          text        NOT NULL,
    action       text        NOT NULL,
    request_hash bytea       NOT NULL,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    answered_at  timestamptz,
    PRIMARY KEY (owner, key)
);
GRANT SELECT, INSERT, UPDATE ON action_keys TO escalate_app;
