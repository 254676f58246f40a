-- Learned greetings (docs/amd.md, "Learned greetings"): the recordings the robot met on calls
-- (carrier voicemails, voice assistants, IVR menus), shared by every project. A greeting heard
-- on calls to `amd.learn_after_numbers` other numbers, or uploaded, is a machine when heard
-- again; one marked `not_machine` never decides.
--
--  landmarks      the fingerprint: 8 bytes a landmark (hash u32, column u32; little-endian)
--  numbers        JSON array of the numbers' keys (FNV-1a of the digits; never the number),
--                 distinct, at most 16
--  numbers_seen   how many distinct numbers it was heard on (past the 16 too)
--  times_seen     calls it was heard on
--  first_seen, last_seen   unix s
--  label          'carrier_voicemail', 'assistant', 'ivr' or NULL (unlabelled)
--  not_machine    1: marked "not a machine" by a user; it never decides
--  uploaded       1: uploaded as known; it decides from the first call
--  sample         a WAV of its first seconds (8 kHz, 16-bit mono), as heard or uploaded
--  name           what a user called it ('' for learned ones)
CREATE TABLE greetings (
    id            INTEGER PRIMARY KEY,
    landmarks     BLOB    NOT NULL,
    numbers       TEXT    NOT NULL DEFAULT '[]',
    numbers_seen  INTEGER NOT NULL DEFAULT 0,
    times_seen    INTEGER NOT NULL DEFAULT 0,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    label         TEXT,
    not_machine   INTEGER NOT NULL DEFAULT 0,
    uploaded      INTEGER NOT NULL DEFAULT 0,
    sample        BLOB,
    name          TEXT    NOT NULL DEFAULT ''
);
-- Pruning drops greetings heard on one number only, oldest first.
CREATE INDEX greetings_unconfirmed ON greetings(numbers_seen, last_seen);
