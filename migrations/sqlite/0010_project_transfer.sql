-- A project's own transfer settings (docs/agents.md, "Per project"): after-call work, ring
-- time, queue wait, announcements, hold music; `{}` follows the server's [agents] section.
ALTER TABLE projects ADD COLUMN transfer_settings TEXT NOT NULL DEFAULT '{}';
