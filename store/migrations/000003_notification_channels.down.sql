DROP TABLE webhooks;
DELETE FROM notifications WHERE channel <> 'email';
DROP INDEX notifications_status;
UPDATE notifications SET status = 'failed' WHERE status = 'retrying';
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
    CHECK (status IN ('pending', 'sent', 'logged', 'failed'));
ALTER TABLE notifications DROP COLUMN agency;
ALTER TABLE notifications DROP COLUMN html_body;
ALTER TABLE notifications DROP CONSTRAINT notifications_channel;
ALTER TABLE notifications DROP CONSTRAINT notifications_once;
ALTER TABLE notifications ADD CONSTRAINT notifications_ref_seq_recipient_email_channel_key
    UNIQUE (ref, seq, recipient_email, channel);
ALTER TABLE notifications DROP COLUMN target;
