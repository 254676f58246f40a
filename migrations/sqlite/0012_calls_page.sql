-- The web UI's calls page and call timeline (docs/users.md, "Calls").

-- What happened when inside an answered call, for its timeline: the prompts played, keys and
-- utterances, when the result was set and a transfer began, in ms since the answer (the
-- recording's time). JSON (`call::Timeline`); NULL for calls not answered and older calls.
ALTER TABLE calls ADD COLUMN timeline TEXT;

-- The calls page walks one of these newest first and stops at its page size: a number's
-- calls, one result's calls over all projects; and turns dates into an id range (ids grow
-- with start times) through the start times.
CREATE INDEX calls_number ON calls(number, id);
CREATE INDEX calls_result_newest ON calls(result, id);
CREATE INDEX calls_started ON calls(started_at);
