-- Notifications delivered by the worker's dispatcher rather than by an
-- activity of the case's workflow. A case started from here records its
-- notifications with dispatch set, in the same transaction as the events
-- they tell of (the outbox): the dispatcher claims them, sends them and
-- marks them, so a case's step costs Temporal one activity, not two
-- (docs/performance.md). Notifications of cases started before go on being
-- delivered by the workflow, as their histories say: dispatch is false.
ALTER TABLE notifications ADD COLUMN dispatch boolean NOT NULL DEFAULT false;
-- due_at: when the dispatcher may next claim it. A claim moves it past the
-- time a delivery can take (a lease: a dispatcher that dies mid-send leaves
-- it to be claimed again then); a failed attempt to when the next is due.
ALTER TABLE notifications ADD COLUMN due_at timestamptz NOT NULL DEFAULT now();
-- claims: how often a dispatcher took it. More claims than attempts marked
-- means a dispatcher died holding it, and it was claimed (and may have
-- been sent) again.
ALTER TABLE notifications ADD COLUMN claims integer NOT NULL DEFAULT 0;
CREATE INDEX notifications_dispatch_due ON notifications (due_at, id)
    WHERE dispatch AND status IN ('pending', 'retrying');

-- Wake the dispatchers when a transaction that recorded notifications for
-- them commits (PostgreSQL delivers a NOTIFY at commit, and folds the same
-- one sent twice in a transaction into one). They also look every few
-- seconds, so a wake-up lost with a dropped connection only delays.
CREATE FUNCTION notifications_wake_dispatch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_notifications WHERE dispatch) THEN
        PERFORM pg_notify('escalate_dispatch', '');
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER notifications_wake_dispatch AFTER INSERT ON notifications
    REFERENCING NEW TABLE AS new_notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_wake_dispatch();
