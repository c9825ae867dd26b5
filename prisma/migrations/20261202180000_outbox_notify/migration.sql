-- Wakes the outbox relay when events commit, instead of it polling: every statement that
-- inserts into "Event" notifies the channel `sprintconnect_outbox`. PostgreSQL delivers a
-- NOTIFY only when its transaction commits (and folds identical ones of one transaction into
-- one), so a relay that LISTENs reads the rows as soon as they are visible, and never before.
CREATE OR REPLACE FUNCTION event_notify_outbox() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('sprintconnect_outbox', '');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "Event_notify_outbox"
  AFTER INSERT ON "Event"
  FOR EACH STATEMENT EXECUTE FUNCTION event_notify_outbox();
