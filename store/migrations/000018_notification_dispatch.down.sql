DROP TRIGGER notifications_wake_dispatch ON notifications;
DROP FUNCTION notifications_wake_dispatch();
DROP INDEX notifications_dispatch_due;
ALTER TABLE notifications DROP COLUMN claims;
ALTER TABLE notifications DROP COLUMN due_at;
ALTER TABLE notifications DROP COLUMN dispatch;
