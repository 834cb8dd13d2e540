-- People's web pages (web/): one-time sign-in links and server-side
-- sessions. Neither secret is stored: each row is keyed by the SHA-256 of
-- a 256-bit random secret that only the person's mail (a link) or browser
-- (a cookie) holds, so whoever reads the database cannot sign in as anyone.
CREATE TABLE signin_links (
    hash       bytea       PRIMARY KEY,
    -- lower-cased address the link was mailed to
    email      text        NOT NULL,
    -- the same-site path to land on once signed in
    next       text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX signin_links_expires ON signin_links (expires_at);

CREATE TABLE web_sessions (
    hash         bytea       PRIMARY KEY,
    email        text        NOT NULL,
    -- the session's CSRF token, carried by every form (not a credential on
    -- its own: it is useless without the session's cookie)
    csrf         text        NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    -- the absolute end (SESSION_MAX_AGE); the idle timeout is applied to
    -- last_seen_at when the session is used
    expires_at   timestamptz NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
CREATE INDEX web_sessions_email ON web_sessions (email);

-- Signing out deletes a session, and expired rows are deleted: unlike the
-- record, these rows are meant to go.
GRANT SELECT, INSERT, UPDATE, DELETE ON signin_links, web_sessions TO escalate_app;

-- A person who signs in is matched to their token by email.
CREATE INDEX tokens_email_lower ON tokens (lower(email));
