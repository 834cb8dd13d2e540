-- Case references are allocated per prefix and year: NSCP-2026-00042.
CREATE TABLE case_numbers (
    prefix      text   NOT NULL,
    year        int    NOT NULL,
    last_number bigint NOT NULL,
    PRIMARY KEY (prefix, year)
);

-- One row per case: the latest snapshot the workflow recorded, for lists,
-- filters and reads. The events table is the record.
CREATE TABLE cases (
    ref               text        PRIMARY KEY,
    policy            text        NOT NULL,
    status            text        NOT NULL,
    stage             int         NOT NULL,
    due_at            timestamptz NOT NULL,
    urgent            boolean     NOT NULL,
    category          text        NOT NULL,
    raiser_agency     text        NOT NULL,
    respondent_agency text        NOT NULL,
    -- lower-cased emails of the raiser, the respondent and every contact
    parties           text[]      NOT NULL,
    created_at        timestamptz NOT NULL,
    closed_at         timestamptz,
    version           int         NOT NULL,
    snapshot          jsonb       NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_created ON cases (created_at DESC, ref DESC);
CREATE INDEX cases_parties ON cases USING gin (parties);
CREATE INDEX cases_policy_status ON cases (policy, status);

-- The written record: one row per event, never changed.
CREATE TABLE events (
    id          bigserial   PRIMARY KEY,
    ref         text        NOT NULL REFERENCES cases (ref),
    seq         int         NOT NULL,
    run_id      text        NOT NULL,
    at          timestamptz NOT NULL,
    type        text        NOT NULL,
    stage       int         NOT NULL,
    by_name     text        NOT NULL,
    by_email    text        NOT NULL,
    text        text        NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ref, seq)
);

-- Who was told of each event, how, and whether it went.
CREATE TABLE notifications (
    id              bigserial   PRIMARY KEY,
    ref             text        NOT NULL,
    seq             int         NOT NULL,
    recipient_name  text        NOT NULL,
    recipient_email text        NOT NULL,
    why             text        NOT NULL,
    channel         text        NOT NULL,
    subject         text        NOT NULL,
    body            text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'logged', 'failed')),
    attempts        int         NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (ref, seq, recipient_email, channel),
    FOREIGN KEY (ref, seq) REFERENCES events (ref, seq)
);

-- Bearer tokens, stored as SHA-256 hashes only.
CREATE TABLE tokens (
    id         text        PRIMARY KEY,
    hash       bytea       NOT NULL UNIQUE,
    name       text        NOT NULL,
    email      text        NOT NULL,
    agency     text        NOT NULL,
    role       text        NOT NULL CHECK (role IN ('practitioner', 'manager', 'partnership', 'admin')),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text        NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz
);

-- Idempotency-Key of POST /v1/cases, per caller.
CREATE TABLE idempotency_keys (
    owner      text        NOT NULL,
    key        text        NOT NULL,
    body_hash  bytea       NOT NULL,
    ref        text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, key)
);
