-- Why a call's recording stopped early or is missing (docs/operations.md, "Recordings"): a
-- write failed — the disk full, the folder gone — and the call went on unrecorded. NULL when
-- the recording is whole or recording is off.
ALTER TABLE calls ADD COLUMN recording_error TEXT;
