-- A project whose scenario transfers callers to agents is dialed by one node at a time (issue
-- 20 §2, docs/operations.md "Several nodes"): the agents' phones are registered at one node's
-- SIP registrar, a transfer bridges the caller's media to the agent's inside one process, and
-- the project's queue (who waits longest, whose turn it is) lives in that process. Sharing one
-- queue across nodes would mean relaying media between nodes; pinning keeps every transfer of
-- a project on the node its agents use. This file has no counterpart in migrations/sqlite/
-- (one process there holds every project).
--
-- The pin is renewed by its node's dialer every pass. Another node takes it when
--   * the holder has been silent for a whole lease (it stopped, was killed, or lost the
--     database) — and the taker's own heartbeats have been steady for a lease (after an outage
--     every pin is stale at once, and the live holder renews first), or
--   * the holder has no agent of the project present (signed in, not offline) and the taker
--     has one: the project follows its agents.
CREATE TABLE transfer_pins (
    project_id  BIGINT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    node_id     BIGINT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,  -- who dials it
    agents      INTEGER NOT NULL,  -- the project's agents present on that node at the renewal
    renewed_at  BIGINT NOT NULL    -- unix ms (db_now_ms()) of the holder's last renewal
);
-- The fence: `start_calls` (under the project's advisory lock) starts no call of a project
-- whose pin another node renewed within a lease, so a node that lost the pin a moment ago
-- places nothing more; a pin not renewed for a lease (its project no longer has transfers, or
-- its node stopped) fences nothing.
