-- People who sign in to the web UI (docs/users.md): a role each, an argon2id hash of the
-- password (never the password), the agent an `agent` user works as.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL,
    -- The name in lower case (Unicode): names are unique and found in any letter case.
    login         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'viewer', 'agent')),
    agent_id      INTEGER REFERENCES agents(id) ON DELETE SET NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

-- Signed-in browsers: the SHA-256 of the session cookie (the cookie itself is never kept),
-- the form token (CSRF) of the session, and when it was last used (idle expiry).
CREATE TABLE sessions (
    sha256     TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- API tokens get every role and, when a user made one, that user (a token acts with its
-- maker's role and goes with them). SQLite cannot change a CHECK: the table is rebuilt.
CREATE TABLE api_tokens_new (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    sha256      TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'manager', 'viewer', 'agent')),
    user_id     INTEGER REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
);
INSERT INTO api_tokens_new (id, name, sha256, role, created_at)
    SELECT id, name, sha256, role, created_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_user ON api_tokens(user_id);
