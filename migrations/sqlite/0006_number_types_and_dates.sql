-- Two campaign rules (issue 10 §6):
--  * a project may have a start and an end date-time (in its zone): nothing dials before the
--    start; at the end it stops dialing and becomes finished;
--  * numbers have a type (mobile, work, home, other), and a project may give each type its own
--    calling windows (JSON {"work": ["mon-fri 09:00-12:00", ...], ...}; '{}' for none).
ALTER TABLE projects ADD COLUMN starts_at INTEGER;  -- unix s; NULL: no start
ALTER TABLE projects ADD COLUMN ends_at INTEGER;    -- unix s; NULL: no end
ALTER TABLE projects ADD COLUMN type_windows TEXT NOT NULL DEFAULT '{}';

-- A number's type: from the import's column header, else from the number (mobile ranges are
-- mobile). Numbers imported before this migration get it from the number.
ALTER TABLE contact_numbers ADD COLUMN kind TEXT NOT NULL DEFAULT 'other'
    CHECK (kind IN ('mobile', 'work', 'home', 'other'));
UPDATE contact_numbers SET kind = 'mobile' WHERE e164 LIKE '+79%';
