-- Notifications by more than one channel: email to a person, and a webhook
-- to an agency's own system. Each is keyed by (event, target, channel),
-- recorded before it is sent, so it is sent once: target is the
-- recipient's lower-cased email, or the agency id for a webhook.

ALTER TABLE notifications ADD COLUMN target text;
UPDATE notifications SET target = recipient_email;
ALTER TABLE notifications ALTER COLUMN target SET NOT NULL;
ALTER TABLE notifications DROP CONSTRAINT notifications_ref_seq_recipient_email_channel_key;
ALTER TABLE notifications ADD CONSTRAINT notifications_once UNIQUE (ref, seq, channel, target);
ALTER TABLE notifications ADD CONSTRAINT notifications_channel CHECK (channel IN ('email', 'webhook'));

-- The HTML alternative of an email (the plain text stays in body); for a
-- webhook, body is the JSON posted.
ALTER TABLE notifications ADD COLUMN html_body text NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN agency text NOT NULL DEFAULT '';

-- retrying: an attempt failed and another will come; failed: the last
-- attempt failed and no more will.
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
    CHECK (status IN ('pending', 'sent', 'logged', 'retrying', 'failed'));
CREATE INDEX notifications_status ON notifications (status) WHERE status IN ('retrying', 'failed');

-- An agency's webhook: every event of a case that involves the agency is
-- posted there as JSON, signed with HMAC-SHA256 under the secret.
CREATE TABLE webhooks (
    agency     text        PRIMARY KEY,
    url        text        NOT NULL,
    secret     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text        NOT NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON webhooks TO escalate_app;
