-- Pacing (docs/pacing.md): how a project places its calls — `robot` (its lines; with
-- transfers, lines the robot lowers while agents cannot keep up), `progressive`,
-- `predictive`, `preview` — and the mode's own settings; `{}` takes the defaults.
ALTER TABLE projects ADD COLUMN mode TEXT NOT NULL DEFAULT 'robot'
    CHECK (mode IN ('robot', 'progressive', 'predictive', 'preview'));
ALTER TABLE projects ADD COLUMN pacing_settings TEXT NOT NULL DEFAULT '{}';
