#!/usr/bin/env bash
# Checks migrations/postgres/ against migrations/sqlite/ (issue 20): that the PostgreSQL schema
# is the end state of the SQLite migrations, and that its tally triggers count what SQLite's do.
#
#  1. applies every migrations/sqlite/*.sql in order to a scratch SQLite file (the sqlite3 CLI),
#     0001_schema.sql alone to one new PostgreSQL database and every migrations/postgres/*.sql to
#     another (psql -v ON_ERROR_STOP=1);
#  2. lists each side's tables, columns (with type, NOT NULL and default: SQLite's INTEGER is
#     bigint, BLOB bytea), primary keys, unique constraints, indexes (name, table, key columns,
#     unique, partial predicate), foreign keys (with ON DELETE) and triggers, and diffs them:
#     SQLite against 0001 must be equal; what the later files add is shown;
#  3. runs the same INSERT/UPDATE/DELETE statements on contacts and calls in both and compares
#     the tallies (contact_tallies, call_tallies) after each step, and counts them again from
#     the rows;
#  4. runs statements each CHECK / UNIQUE / FOREIGN KEY / NOT NULL must refuse (and valid ones
#     it must let through) in both, and compares what each engine did.
#
# Usage: scripts/pg-schema-check.sh [POSTGRES_URL]
# Without a URL it starts a throwaway server with scripts/pg.sh and stops it at the end. With
# one, the role must be allowed to create databases: two are made and dropped again. Needs
# psql and sqlite3 (apt-get install -y postgresql sqlite3). Exit status 0: all equal.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v sqlite3 >/dev/null || { echo "pg-schema-check: sqlite3 is missing (apt-get install -y sqlite3)" >&2; exit 1; }
command -v psql >/dev/null || { echo "pg-schema-check: psql is missing (apt-get install -y postgresql)" >&2; exit 1; }

work=$(mktemp -d)
url=${1:-}
own_server=0
base_db="schema_check_base_$$"
full_db="schema_check_full_$$"
cleanup() {
  if [ -n "$url" ]; then
    psql -X -q "$url" -c "DROP DATABASE IF EXISTS $base_db" -c "DROP DATABASE IF EXISTS $full_db" >/dev/null 2>&1 || true
  fi
  if [ $own_server = 1 ]; then
    scripts/pg.sh stop "$work/pg" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "$url" ]; then
  url=$(scripts/pg.sh start "$work/pg" 2>"$work/pg-start.log") || { cat "$work/pg-start.log" >&2; exit 1; }
  own_server=1
fi
# The URL of another database on the same server: the path's last part replaced.
db_url() {
  local base=${url%%\?*} query=""
  [ "$base" != "$url" ] && query="?${url#*\?}"
  echo "${base%/*}/$1$query"
}
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
fail=0

echo "== applying the migrations"
sq="$work/sqlite.db"
for f in migrations/sqlite/*.sql; do
  sqlite3 -bail "$sq" <"$f" || { echo "FAILED: $f on SQLite" >&2; exit 1; }
done
echo "sqlite: $(ls migrations/sqlite/*.sql | wc -l) files applied"
"${PSQL[@]}" "$url" -c "CREATE DATABASE $base_db" -c "CREATE DATABASE $full_db"
base=$(db_url "$base_db")
full=$(db_url "$full_db")
"${PSQL[@]}" "$base" -f migrations/postgres/0001_schema.sql
for f in migrations/postgres/*.sql; do
  "${PSQL[@]}" "$full" -f "$f" || { echo "FAILED: $f on PostgreSQL" >&2; exit 1; }
done
echo "postgres: 0001_schema.sql applied to $base_db; $(ls migrations/postgres/*.sql | wc -l) files applied to $full_db"

# ---------------------------------------------------------------------------------------------
# The schema as lines, one fact each, sorted. Predicates are compared without parentheses,
# casts and letter case (SQLite keeps the text as written, PostgreSQL prints its own form).
norm_pred() { sed -E 's/::[a-z ]+//g; s/[()]//g; s/[[:space:]]+/ /g; s/^ //; s/ $//' | tr 'A-Z' 'a-z'; }

sqlite_schema() {
  local db=$1
  sqlite3 -bail -list -separator '|' "$db" "
    SELECT 'table ' || name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%';
    SELECT 'column ' || m.name || '.' || p.name || ' '
           || CASE upper(p.type) WHEN 'INTEGER' THEN 'bigint' WHEN 'TEXT' THEN 'text'
                WHEN 'BLOB' THEN 'bytea' WHEN 'REAL' THEN 'double precision' ELSE lower(p.type) END
           || CASE WHEN p.\"notnull\" OR p.pk > 0 THEN ' not null' ELSE '' END
           || CASE WHEN p.dflt_value IS NOT NULL THEN ' default ' || p.dflt_value ELSE '' END
    FROM sqlite_master m, pragma_table_info(m.name) p
    WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%';
    SELECT 'pk ' || m.name || ' ('
           || (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info(m.name)
               WHERE pk > 0 ORDER BY pk)) || ')'
    FROM sqlite_master m WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
      AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE pk > 0);
    SELECT 'unique ' || m.name || ' ('
           || (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info(l.name)
               ORDER BY seqno)) || ')'
    FROM sqlite_master m, pragma_index_list(m.name) l
    WHERE m.type = 'table' AND l.origin = 'u';
    SELECT 'index ' || l.name || ' ON ' || m.name || ' ('
           || (SELECT group_concat(c, ',') FROM (SELECT name || CASE WHEN \"desc\" THEN ' desc' ELSE '' END AS c
               FROM pragma_index_xinfo(l.name) WHERE key = 1 ORDER BY seqno)) || ')'
           || CASE WHEN l.\"unique\" THEN ' unique' ELSE '' END
           || CASE WHEN l.partial THEN ' where ' || replace(substr(i.sql, instr(upper(i.sql), ' WHERE ') + 7), char(10), ' ')
                   ELSE '' END
    FROM sqlite_master m, pragma_index_list(m.name) l JOIN sqlite_master i ON i.name = l.name
    WHERE m.type = 'table' AND l.origin = 'c';
    SELECT 'fk ' || m.name || '(' || f.\"from\" || ') -> ' || f.\"table\" || '(' || f.\"to\" || ') on delete '
           || lower(f.on_delete)
    FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table';
    SELECT 'trigger ' || replace(sql, char(10), ' ') FROM sqlite_master WHERE type = 'trigger';
  " | trigger_line | index_line | sort
}

pg_schema() {
  "${PSQL[@]}" -At -F '|' "$1" -c "
    SELECT 'table ' || table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE';
    SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type
           || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END
           || CASE WHEN column_default IS NOT NULL
                   THEN ' default ' || regexp_replace(column_default, '::[a-z ]+$', '') ELSE '' END
    FROM information_schema.columns WHERE table_schema = 'public';
    SELECT CASE c.contype WHEN 'p' THEN 'pk ' ELSE 'unique ' END || t.relname || ' ('
           || (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY k(att, n)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att) || ')'
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_namespace s ON s.oid = t.relnamespace
    WHERE s.nspname = 'public' AND c.contype IN ('p', 'u');
    SELECT 'index ' || ic.relname || ' ON ' || t.relname || ' ('
           || (SELECT string_agg(pg_get_indexdef(i.indexrelid, k, true)
                                 || CASE WHEN i.indoption[k - 1] & 1 = 1 THEN ' desc' ELSE '' END, ',' ORDER BY k)
               FROM generate_series(1, i.indnkeyatts) k) || ')'
           || CASE WHEN i.indisunique THEN ' unique' ELSE '' END
           || CASE WHEN i.indpred IS NOT NULL THEN ' where ' || pg_get_expr(i.indpred, i.indrelid) ELSE '' END
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace s ON s.oid = t.relnamespace
    WHERE s.nspname = 'public'
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'));
    SELECT 'fk ' || t.relname || '(' || a.attname || ') -> ' || ft.relname || '(' || fa.attname || ') on delete '
           || CASE c.confdeltype WHEN 'a' THEN 'no action' WHEN 'c' THEN 'cascade' WHEN 'n' THEN 'set null'
                WHEN 'r' THEN 'restrict' WHEN 'd' THEN 'set default' END
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class ft ON ft.oid = c.confrelid
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
    JOIN pg_namespace s ON s.oid = t.relnamespace
    WHERE s.nspname = 'public' AND c.contype = 'f';
    SELECT 'trigger ' || pg_get_triggerdef(g.oid) FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
    JOIN pg_namespace s ON s.oid = t.relnamespace WHERE s.nspname = 'public' AND NOT g.tgisinternal;
  " | trigger_line | index_line | sort
}

# "trigger CREATE TRIGGER name AFTER UPDATE OF a, b ON [public.]t ..." → "trigger name t AFTER UPDATE OF a, b"
trigger_line() {
  sed -E 's/^trigger CREATE TRIGGER ([A-Za-z0-9_]+) +(BEFORE|AFTER|INSTEAD OF) +(INSERT|DELETE|UPDATE( OF [A-Za-z0-9_]+(, *[A-Za-z0-9_]+)*)?) +ON +(public\.)?([A-Za-z0-9_]+)( .*)?$/trigger \1 on \7 \2 \3/'
}
# An index line's predicate in a comparable form.
index_line() {
  while IFS= read -r l; do
    case $l in
      index*" where "*) echo "${l%% where *} where $(printf '%s' "${l#* where }" | norm_pred)" ;;
      *) echo "$l" ;;
    esac
  done
}

echo
echo "== schema: SQLite's end state (migrations/sqlite/) against 0001_schema.sql"
sqlite_schema "$sq" >"$work/sqlite.txt"
pg_schema "$base" >"$work/pg-base.txt"
pg_schema "$full" >"$work/pg-full.txt"
for k in table column pk unique index fk trigger; do
  printf '%-8s sqlite %3d  postgres %3d\n' "$k" "$(grep -c "^$k " "$work/sqlite.txt" || true)" \
    "$(grep -c "^$k " "$work/pg-base.txt" || true)"
done
if diff -u --label sqlite "$work/sqlite.txt" --label postgres-0001 "$work/pg-base.txt" >"$work/diff.txt"; then
  echo "equal: every table, column (type, NOT NULL, default), key, index, foreign key and trigger"
else
  echo "DIFFERENT (- only in SQLite, + only in PostgreSQL):"
  grep -E '^[-+][a-z]' "$work/diff.txt"
  fail=1
fi

echo
echo "== what the later migrations/postgres files add to 0001"
if diff "$work/pg-base.txt" "$work/pg-full.txt" >"$work/diff-full.txt"; then
  echo "(nothing)"
else
  grep -E '^[<>]' "$work/diff-full.txt" | sed 's/^> /+ /; s/^< /- /'
  if grep -q '^<' "$work/diff-full.txt"; then
    echo "FAILED: a later file removes or changes something of 0001"
    fail=1
  fi
fi

# ---------------------------------------------------------------------------------------------
echo
echo "== tally triggers: the same statements in SQLite and PostgreSQL"
# Portable SQL only (no booleans, no blobs): each step prints its name, the tallies with n > 0
# and a recount from the rows, which must equal them.
tallies="
SELECT 'contact_tallies', project_id, status, n FROM contact_tallies WHERE n <> 0 ORDER BY 2, 3;
SELECT 'call_tallies', project_id, result, n, cost_kop FROM call_tallies WHERE n <> 0 ORDER BY 2, 3;
SELECT 'recount-contacts', project_id, s, COUNT(*) FROM (SELECT project_id,
       CASE WHEN removed_at IS NOT NULL THEN 'removed' WHEN next_at = 9223372036854775807 THEN 'in_call'
            ELSE status END AS s FROM contacts) x GROUP BY project_id, s ORDER BY 2, 3;
SELECT 'recount-calls', project_id, COALESCE(result, ''), COUNT(*), SUM(cost_kop) FROM calls
  WHERE state = 'done' GROUP BY project_id, COALESCE(result, '') ORDER BY 2, 3;
"
step() { printf "SELECT 'step: %s';\n%s\n%s\n" "$1" "$2" "$tallies"; }
{
  step "inserts" "
INSERT INTO scenarios (id, name, source, created_at) VALUES (1, 's', '', 0);
INSERT INTO projects (id, name, scenario_id, schedule, retry_rules, ordering, tariff, created_at)
  VALUES (1, 'p1', 1, '[]', '{}', '[]', '{}', 0), (2, 'p2', 1, '[]', '{}', '[]', '{}', 0);
INSERT INTO contacts (id, project_id, seq, created_at, status, next_at) VALUES
  (1, 1, 1, 0, 'not_called', 0), (2, 1, 2, 0, 'not_called', NULL), (3, 1, 3, 0, 'retry', 100),
  (4, 1, 4, 0, 'not_called', 9223372036854775807), (5, 2, 1, 0, 'reached', NULL),
  (6, 2, 2, 0, 'not_called', 0), (8, 2, 3, 0, 'retry', 9223372036854775807);
INSERT INTO contacts (id, project_id, seq, created_at, status, next_at, removed_at)
  VALUES (7, 1, 5, 0, 'not_reached', NULL, 50);"
  step "park a contact for a call (in_call), plan changes that keep the tally" "
UPDATE contacts SET next_at = 9223372036854775807, ready = 0, version = version + 1 WHERE id = 1;
UPDATE contacts SET next_at = 200, gate = 'Europe/Moscow', ready = 1 WHERE id = 3;
UPDATE contacts SET next_at = NULL WHERE id = 2;
UPDATE contacts SET status = status, next_at = next_at, removed_at = removed_at WHERE id = 5;
UPDATE contacts SET fields = '{\"a\": \"b\"}', priority = 3 WHERE project_id = 2;"
  step "status changes in and out of a call" "
UPDATE contacts SET status = 'retry' WHERE id = 4;
UPDATE contacts SET status = 'reached', next_at = NULL WHERE id = 1;
UPDATE contacts SET next_at = 300 WHERE id = 8;
UPDATE contacts SET next_at = 9223372036854775807 WHERE id = 3;"
  step "a multi-row update, a move to another project" "
UPDATE contacts SET status = 'not_reached', next_at = NULL WHERE project_id = 1 AND status = 'not_called';
UPDATE contacts SET project_id = 2 WHERE id = 3;
UPDATE contacts SET project_id = 1, status = 'retry', next_at = 5 WHERE id = 6;"
  step "removed and brought back" "
UPDATE contacts SET removed_at = 300, next_at = NULL WHERE id = 6;
UPDATE contacts SET removed_at = NULL WHERE id = 7;
UPDATE contacts SET removed_at = 400 WHERE id = 4;"
  step "deletes" "
DELETE FROM contacts WHERE id IN (2, 5);
DELETE FROM contacts WHERE id = 6;"
  step "calls: dialing ones count nowhere, done ones by result" "
INSERT INTO calls (id, project_id, contact_id, number, started_at) VALUES
  (1, 1, 1, '+79000000001', 0), (2, 1, 3, '+79000000002', 0);
INSERT INTO calls (id, project_id, contact_id, number, state, started_at, result, cost_kop) VALUES
  (3, 1, 4, '+79000000003', 'done', 0, 'busy', 5), (4, 2, 8, '+79000000004', 'done', 0, NULL, 7),
  (5, 2, 8, '+79000000005', 'done', 0, 'busy', 11);"
  step "calls end, results and costs change" "
UPDATE calls SET state = 'done', result = 'answered', cost_kop = 12 WHERE id = 1;
UPDATE calls SET result = 'busy' WHERE id = 1;
UPDATE calls SET result = 'answered' WHERE id = 3;
UPDATE calls SET cost_kop = cost_kop + 100 WHERE project_id = 1 AND state = 'done';
UPDATE calls SET transcript = 'x', reaction = '1' WHERE id = 1;
UPDATE calls SET state = 'done', result = NULL WHERE id = 2;"
  step "calls move, go back to dialing, are deleted" "
UPDATE calls SET project_id = 2 WHERE id = 3;
UPDATE calls SET state = 'dialing' WHERE id = 4;
UPDATE calls SET result = 'no_answer', project_id = 1 WHERE id = 5;
DELETE FROM calls WHERE id = 1;
DELETE FROM calls WHERE id = 4;"
} >"$work/tallies.sql"
sqlite3 -bail -list -separator '|' "$sq" "PRAGMA foreign_keys = ON;" ".read $work/tallies.sql" >"$work/tallies-sqlite.txt"
"${PSQL[@]}" -At -F '|' "$full" -f "$work/tallies.sql" >"$work/tallies-pg.txt"
# The statements above give ids of their own, which PostgreSQL's identity sequences do not
# see (SQLite takes the next rowid from the table's maximum): move every sequence past its
# table's highest id, as code that inserts its own ids must, before rows are numbered by them.
"${PSQL[@]}" "$full" -c "
  DO \$\$ DECLARE r RECORD; BEGIN
    FOR r IN SELECT table_name, column_name FROM information_schema.columns
             WHERE table_schema = 'public' AND is_identity = 'YES' LOOP
      EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), GREATEST(COALESCE(MAX(%I), 0), 1), MAX(%I) IS NOT NULL) FROM %I',
                     r.table_name, r.column_name, r.column_name, r.column_name, r.table_name);
    END LOOP;
  END \$\$"
if diff -u --label sqlite "$work/tallies-sqlite.txt" --label postgres "$work/tallies-pg.txt" >"$work/tallies-diff.txt"; then
  echo "equal after each of $(grep -c '^step: ' "$work/tallies-pg.txt") steps ($(wc -l <"$work/tallies.sql") lines of SQL); the last step's tallies:"
  awk '/^step: /{buf=""} {buf=buf "  " $0 "\n"} END{printf "%s", buf}' "$work/tallies-pg.txt" | grep -v 'recount'
else
  echo "DIFFERENT (- SQLite, + PostgreSQL):"
  cat "$work/tallies-diff.txt"
  fail=1
fi
# Each step's tallies against its recount (in PostgreSQL; SQLite's are the same lines).
awk -F'|' '
  /^step: / { flush(); step = $0; next }
  $1 == "contact_tallies" || $1 == "call_tallies" { t[$1 == "contact_tallies" ? "c" : "k", $2 "|" $3] = $4 (NF > 4 ? "|" $5 : ""); next }
  $1 == "recount-contacts" || $1 == "recount-calls" { r[$1 == "recount-contacts" ? "c" : "k", $2 "|" $3] = $4 (NF > 4 ? "|" $5 : ""); next }
  function flush(  k) {
    for (k in t) if (t[k] != r[k]) { print "MISMATCH " step ": tally " k " = " t[k] ", recount " r[k]; bad = 1 }
    for (k in r) if (t[k] != r[k]) { print "MISMATCH " step ": recount " k " = " r[k] ", tally " t[k]; bad = 1 }
    delete t; delete r
  }
  END { flush(); if (bad) exit 1; print "every step: the tallies equal a recount from the rows" }
' "$work/tallies-pg.txt" || fail=1

# ---------------------------------------------------------------------------------------------
echo
echo "== constraints: statements each engine must refuse (and valid ones it must take)"
# One statement a line: "expect|SQL". Run on the state the tally steps left (scenario 1,
# projects 1 and 2, contacts 1, 3, 4, 7, 8), each in its own transaction, rolled back.
cat >"$work/constraints.txt" <<'EOF'
ok|INSERT INTO projects (name, scenario_id, schedule, retry_rules, ordering, tariff, created_at) VALUES ('p3', 1, '[]', '{}', '[]', '{}', 0)
refuse|INSERT INTO projects (name, scenario_id, schedule, retry_rules, ordering, tariff, created_at) VALUES ('p1', 1, '[]', '{}', '[]', '{}', 0)
refuse|INSERT INTO projects (name, scenario_id, status, schedule, retry_rules, ordering, tariff, created_at) VALUES ('p4', 1, 'running', '[]', '{}', '[]', '{}', 0)
refuse|INSERT INTO projects (name, scenario_id, lines, schedule, retry_rules, ordering, tariff, created_at) VALUES ('p4', 1, 0, '[]', '{}', '[]', '{}', 0)
refuse|INSERT INTO projects (name, scenario_id, max_calls_per_number, schedule, retry_rules, ordering, tariff, created_at) VALUES ('p4', 1, 3, '[]', '{}', '[]', '{}', 0)
refuse|INSERT INTO projects (name, scenario_id, mode, schedule, retry_rules, ordering, tariff, created_at) VALUES ('p4', 1, 'manual', '[]', '{}', '[]', '{}', 0)
refuse|INSERT INTO projects (name, scenario_id, schedule, retry_rules, ordering, tariff, created_at) VALUES ('p4', 99, '[]', '{}', '[]', '{}', 0)
refuse|INSERT INTO projects (name, scenario_id, retry_rules, ordering, tariff, created_at) VALUES ('p4', 1, '{}', '[]', '{}', 0)
ok|INSERT INTO contacts (project_id, seq, created_at) VALUES (1, 9, 0)
refuse|INSERT INTO contacts (project_id, seq, created_at, status) VALUES (1, 9, 0, 'called')
refuse|INSERT INTO contacts (project_id, seq, created_at) VALUES (99, 9, 0)
refuse|INSERT INTO contacts (project_id, seq, created_at, import_id) VALUES (1, 9, 0, 99)
ok|INSERT INTO contact_numbers (contact_id, project_id, idx, e164, kind) VALUES (1, 1, 0, '+79990000000', 'mobile')
refuse|INSERT INTO contact_numbers (contact_id, project_id, idx, e164, kind) VALUES (1, 1, 0, '+79990000000', 'fax')
refuse|INSERT INTO contact_numbers (contact_id, project_id, idx, e164) VALUES (1, 1, 0, '+79990000000'), (3, 1, 1, '+79990000000')
ok|INSERT INTO contact_numbers (contact_id, project_id, idx, e164) VALUES (1, 1, 0, '+79990000000'), (3, 2, 1, '+79990000000')
refuse|INSERT INTO calls (project_id, contact_id, number, state, started_at) VALUES (1, 1, '+7', 'ringing', 0)
refuse|INSERT INTO calls (project_id, contact_id, number, started_at) VALUES (1, 99, '+7', 0)
refuse|DELETE FROM contacts WHERE id = 3
ok|INSERT INTO imports (project_id, started_at) VALUES (1, 0)
refuse|INSERT INTO imports (project_id, started_at) VALUES (1, 0), (1, 1)
ok|INSERT INTO imports (project_id, started_at, state) VALUES (1, 0, 'done'), (1, 1, 'done'), (1, 2, 'running')
refuse|INSERT INTO imports (project_id, started_at, state) VALUES (1, 0, 'paused')
ok|INSERT INTO actions (call_id, idx, project_id, contact_id, kind, payload, next_at, give_up_at, created_at) VALUES (2, 0, 1, 3, 'sms', '{}', 0, 0, 0)
refuse|INSERT INTO actions (call_id, idx, project_id, contact_id, kind, payload, next_at, give_up_at, created_at) VALUES (2, 0, 1, 3, 'email', '{}', 0, 0, 0)
refuse|INSERT INTO actions (call_id, idx, project_id, contact_id, kind, payload, status, next_at, give_up_at, created_at) VALUES (2, 0, 1, 3, 'sms', '{}', 'lost', 0, 0, 0)
refuse|INSERT INTO actions (call_id, idx, project_id, contact_id, kind, payload, next_at, give_up_at, created_at) VALUES (2, 0, 1, 3, 'sms', '{}', 0, 0, 0), (2, 0, 1, 3, 'webhook', '{}', 0, 0, 0)
refuse|INSERT INTO action_attempts (action_id, at, outcome) VALUES (99, 0, 'sent')
ok|INSERT INTO agents (name, sip_user, kind, created_at) VALUES ('a', 'a1', 'uri', 0)
refuse|INSERT INTO agents (name, sip_user, kind, created_at) VALUES ('a', 'a1', 'xmpp', 0)
refuse|INSERT INTO agents (name, sip_user, created_at) VALUES ('a', 'a1', 0), ('b', 'a1', 0)
ok|INSERT INTO users (username, login, password_hash, role, created_at) VALUES ('U', 'u', 'h', 'viewer', 0)
refuse|INSERT INTO users (username, login, password_hash, role, created_at) VALUES ('U', 'u', 'h', 'root', 0)
refuse|INSERT INTO users (username, login, password_hash, role, created_at) VALUES ('U', 'u', 'h', 'viewer', 0), ('V', 'u', 'h', 'viewer', 0)
refuse|INSERT INTO users (username, login, password_hash, role, agent_id, created_at) VALUES ('U', 'u', 'h', 'agent', 99, 0)
ok|INSERT INTO api_tokens (name, sha256, created_at) VALUES ('t', 'x', 0)
refuse|INSERT INTO api_tokens (name, sha256, role, created_at) VALUES ('t', 'x', 'owner', 0)
refuse|INSERT INTO api_tokens (name, sha256, created_at) VALUES ('t', 'x', 0), ('u', 'x', 0)
refuse|INSERT INTO sessions (sha256, user_id, csrf, created_at, last_seen) VALUES ('s', 99, 'c', 0, 0)
refuse|INSERT INTO stop_list (e164, reason, added_at) VALUES ('+7', 'a', 0), ('+7', 'b', 0)
refuse|INSERT INTO settings (key, value) VALUES ('k', 'a'), ('k', 'b')
refuse|INSERT INTO import_rejects (import_id, seq, row, value, kind, reason) VALUES (99, 1, 2, 'v', 'k', 'r')
refuse|INSERT INTO agent_projects (agent_id, project_id) VALUES (99, 1)
EOF
# Cascades and SET NULL: after these, what is left must be the same in both.
cascades="
INSERT INTO agents (id, name, sip_user, created_at) VALUES (10, 'a', 'a10', 0);
INSERT INTO agent_projects (agent_id, project_id) VALUES (10, 1), (10, 2);
INSERT INTO users (id, username, login, password_hash, role, agent_id, created_at) VALUES (20, 'U', 'u20', 'h', 'agent', 10, 0);
INSERT INTO sessions (sha256, user_id, csrf, created_at, last_seen) VALUES ('s20', 20, 'c', 0, 0);
INSERT INTO api_tokens (id, name, sha256, user_id, created_at) VALUES (30, 't', 'h30', 20, 0);
INSERT INTO imports (id, project_id, started_at, state) VALUES (40, 1, 0, 'done');
INSERT INTO import_rejects (import_id, seq, row, value, kind, reason) VALUES (40, 1, 2, 'v', 'k', 'r');
INSERT INTO contact_numbers (id, contact_id, project_id, idx, e164) VALUES (50, 7, 1, 0, '+79990000050');
DELETE FROM agents WHERE id = 10;
SELECT 'users.agent_id after the agent went', agent_id FROM users WHERE id = 20;
SELECT 'agent_projects left', COUNT(*) FROM agent_projects;
DELETE FROM users WHERE id = 20;
SELECT 'sessions, tokens left', (SELECT COUNT(*) FROM sessions), (SELECT COUNT(*) FROM api_tokens);
DELETE FROM imports WHERE id = 40;
SELECT 'import_rejects left', COUNT(*) FROM import_rejects;
DELETE FROM contacts WHERE id = 7;
SELECT 'contact_numbers left', COUNT(*) FROM contact_numbers;
"
ran=0
while IFS='|' read -r expect stmt; do
  ran=$((ran + 1))
  s=took; p=took
  sqlite3 -bail "$sq" "PRAGMA foreign_keys = ON; BEGIN; $stmt; ROLLBACK;" >/dev/null 2>&1 || s=refused
  "${PSQL[@]}" "$full" -c "BEGIN; $stmt; ROLLBACK;" >/dev/null 2>&1 || p=refused
  want=took; [ "$expect" = refuse ] && want=refused
  if [ "$s" != "$want" ] || [ "$p" != "$want" ]; then
    echo "WRONG: sqlite $s, postgres $p, expected $want: $stmt"
    fail=1
  fi
done <"$work/constraints.txt"
echo "$ran statements: each refused or taken alike by both, as expected"
printf '%s\n' "BEGIN;" "$cascades" "ROLLBACK;" >"$work/cascades.sql"
sqlite3 -bail -list -separator '|' "$sq" "PRAGMA foreign_keys = ON;" ".read $work/cascades.sql" >"$work/cascades-sqlite.txt"
"${PSQL[@]}" -At -F '|' "$full" -f "$work/cascades.sql" >"$work/cascades-pg.txt"
if diff -u --label sqlite "$work/cascades-sqlite.txt" --label postgres "$work/cascades-pg.txt"; then
  echo "ON DELETE CASCADE / SET NULL: the same rows left in both:"
  sed 's/^/  /' "$work/cascades-pg.txt"
else
  fail=1
fi

echo
if [ $fail = 0 ]; then
  echo "pg-schema-check: OK"
else
  echo "pg-schema-check: FAILED"
fi
exit $fail
