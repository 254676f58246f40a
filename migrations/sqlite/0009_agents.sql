-- Live agents (docs/agents.md): who takes transferred calls, which projects they serve, and
-- each call's transfer.
CREATE TABLE agents (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    -- The SIP user the agent registers as (digest auth); unique.
    sip_user TEXT NOT NULL UNIQUE,
    -- MD5(sip_user:realm:password), hex (RFC 2617's HA1): the clear password is never kept.
    ha1 TEXT,
    -- `sip` registers to the robot; `uri` is reached at a fixed SIP URI; `sim` is simulated.
    kind TEXT NOT NULL DEFAULT 'sip' CHECK (kind IN ('sip', 'uri', 'sim')),
    uri TEXT,
    enabled INTEGER NOT NULL DEFAULT 1,
    -- Serves every project (simulated agents).
    all_projects INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE agent_projects (
    agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, project_id)
);
CREATE INDEX agent_projects_project ON agent_projects(project_id);

-- The call's transfer as JSON (`to`, `agent_id`, `queue_ms`, `agent_ring_ms`, `answered`,
-- `talk_ms`, `misses`), NULL for calls without one.
ALTER TABLE calls ADD COLUMN transfer TEXT;
-- Transfers in a project's stats walk only the calls that have one.
CREATE INDEX calls_transfer ON calls(project_id) WHERE transfer IS NOT NULL;
