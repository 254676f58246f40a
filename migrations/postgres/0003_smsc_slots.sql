-- SMSC allows 15 requests at once per login (docs/actions.md, "SMS"); several robot nodes
-- share one login, so the limit is kept in the database they share (issue 20 §2): one row per
-- request slot. A node takes a free slot (or one whose lease ran out: its node stopped
-- mid-request) for each request to SMSC and gives it back when the answer came; the lease
-- covers the request's timeout. This file has no counterpart in migrations/sqlite/ (one
-- process there: the outbox worker's own semaphore is the limit).
CREATE TABLE smsc_slots (
    slot         BIGINT PRIMARY KEY,
    owner_node   BIGINT REFERENCES nodes(id) ON DELETE SET NULL,  -- who holds it, if anyone
    lease_until  BIGINT,   -- unix ms (db_now_ms()) the request may take at most
    CONSTRAINT smsc_slots_lease_whole
        CHECK ((owner_node IS NULL) = (lease_until IS NULL))
);
INSERT INTO smsc_slots (slot) SELECT generate_series(0, 14);
