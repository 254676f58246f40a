-- The agent desk's wrap-up (docs/users.md, "The agent desk"): after a transferred call the
-- agent picks a disposition from the project's list, may write a note and may ask for a call
-- back at a time. Kept with the call, once (a second wrap-up of the same call is refused).
--
--  disposition        one of the project's `transfer.dispositions` at the time of the wrap-up
--  note               the agent's note ('' when none was written)
--  callback_at        unix s: the call back the agent asked for (its contact is copied into
--                     the callback project, not dialed before then), NULL for none
--  wrap_up_agent_id   the agent who wrapped the call up
--  wrapped_up_at_ms   when (unix ms); NULL: not wrapped up
ALTER TABLE calls ADD COLUMN disposition TEXT;
ALTER TABLE calls ADD COLUMN note TEXT;
ALTER TABLE calls ADD COLUMN callback_at INTEGER;
ALTER TABLE calls ADD COLUMN wrap_up_agent_id INTEGER;
ALTER TABLE calls ADD COLUMN wrapped_up_at_ms INTEGER;

-- The project page's chart of calls and answers by hour reads a project's calls of the last
-- 24 hours, and the projects page its calls of today with their cost: one range of this index
-- each, which holds what they read (no table lookups). It replaces `calls_project_day`
-- (migration 0013), of which it is an extension.
DROP INDEX IF EXISTS calls_project_day;
CREATE INDEX calls_project_day ON calls(project_id, started_at, cost_kop, answered_at);
