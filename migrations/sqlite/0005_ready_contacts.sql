-- The dialer picks from the whole base (issue 9): every open contact carries its planned next
-- step, so "the next N callable contacts now, in the project's order" is one walk of one
-- index instead of a window of contacts filtered afterwards.
--
--  ready     1 when the contact may be dialed now as far as the contact itself goes (its retry
--            interval is over, its callee's window is open, its number is not stop-listed);
--            the project's own schedule and lines are checked by the dialer per pass.
--  next_idx  which of its numbers is dialed next.
--  gate      the zone of that number's callee ('' when unknown): when the window closes in a
--            zone, the ready contacts of that gate are held together until it opens again.
--  pick_key  the contact's place in its project's order (a byte string that sorts like the
--            project's ordering options, the import order breaking ties).
--  next_at   (existing) not before this time; i64::MAX while a call is up; NULL when closed,
--            and for contacts of an import that has not finished yet (ready = 0).
-- Rows that predate this migration get their plan from the store when it opens (pick_key NULL).
ALTER TABLE contacts ADD COLUMN ready INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN next_idx INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN gate TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN pick_key BLOB;

-- The walk the dialer makes each pass: callable contacts in order, stopping at the lines free.
CREATE INDEX contacts_ready ON contacts(project_id, pick_key) WHERE ready = 1;
-- The gates present among callable contacts (a skip-scan), and holding one gate's contacts.
CREATE INDEX contacts_ready_gate ON contacts(project_id, gate) WHERE ready = 1;
-- Contacts waiting for a time: they become ready when it has come.
CREATE INDEX contacts_waiting ON contacts(project_id, next_at) WHERE ready = 0 AND next_at IS NOT NULL;
-- Replaced by the three above.
DROP INDEX contacts_due;
DROP INDEX contacts_pick;
-- Adding a number to the stop list finds its contacts in every project.
CREATE INDEX contact_numbers_e164 ON contact_numbers(e164);

-- What an answered call knew, written as it became known, so that a crash keeps it: the answer
-- (with its time in ms), the recording's path from the moment it is opened, and the timing
-- facts the reports and the benchmarks read. Times in unix milliseconds.
ALTER TABLE calls ADD COLUMN dialed_at_ms INTEGER;
ALTER TABLE calls ADD COLUMN answered_at_ms INTEGER;
ALTER TABLE calls ADD COLUMN ended_at_ms INTEGER;
-- From dialing to the answer (or to the end of a call that was not answered).
ALTER TABLE calls ADD COLUMN ring_ms INTEGER;
-- From the answer to the end.
ALTER TABLE calls ADD COLUMN talk_ms INTEGER;
-- Why a call ended the way it did, in words ("ring timeout", "no response from the trunk",
-- "interrupted by a restart after the answer", ...).
ALTER TABLE calls ADD COLUMN end_reason TEXT;

-- When a project became `finished` (nothing left to call, no call up).
ALTER TABLE projects ADD COLUMN finished_at INTEGER;
