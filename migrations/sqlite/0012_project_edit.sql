-- Editing a project (PATCH /projects/{id}, the edit page) and deleting contacts by status.
--
--  settings_version  counts the edits of a project's settings: a call that ends after an edit
--                    it began before plans its contact again under the new rules, and the
--                    dialer knows its cached per-project settings are stale.
--  replan_after      while the open contacts of an edited project are being planned again under
--                    its new settings (in batches, so the write lock is let go between them):
--                    the last contact id done; NULL when none is pending. A stop part-way
--                    through resumes from here when the store opens again.
ALTER TABLE projects ADD COLUMN settings_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN replan_after INTEGER;

-- A contact deleted by status whose calls keep their history (calls refer to their contact):
-- the row stays for them, closed, without its numbers (they may be imported again), and every
-- count, list and export leaves it out. Contacts without calls are deleted outright.
ALTER TABLE contacts ADD COLUMN removed_at INTEGER;
