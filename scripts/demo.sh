#!/usr/bin/env bash
# The demo, from a fresh machine (python3 and pip only) or again on one where it already ran:
#   1. installs the tap into .venv (as a user would, not editable);
#   2. puts target-duckdb into its own venv, .demo/target-duckdb (Singer targets' pins clash with the tap's);
#   3. starts the Intercom emulator (intercom_emulator/) on a free port, stopped on exit whatever happens;
#   4. full sync of every stream: tap-intercom | target-duckdb -> .demo/intercom.duckdb, state in .demo/state.json;
#   5. prints the rows per table next to the emulator's ground truth;
#   6. changes the workspace through the emulator's control API, runs an incremental sync with the saved state
#      and shows the changed rows (upserts: row counts still equal the truth).
# Logs of the tap, the target, the emulator and pip go to .demo/*.log. Exit status 1 when anything disagrees.
#   scripts/demo.sh
#   PYTHON=python3.12 DEMO_CONTACTS=20000 scripts/demo.sh   # another interpreter, a bigger workspace
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
DEMO=.demo
# target-duckdb 0.8.0 is the newest release on PyPI. It leaves duckdb unpinned, but with duckdb >= 1.1 its
# COPY FROM (no HEADER option) lets DuckDB's sniffer take the first CSV row of a batch for a header and drop it:
# one row lost per table per batch (fixed on target-duckdb's main branch, unreleased). duckdb 1.0.0 loads every row.
TARGET_PIN=target-duckdb==0.8.0
DUCKDB_PIN=duckdb==1.0.0
CONTACTS=${DEMO_CONTACTS:-2000}
COMPANIES=${DEMO_COMPANIES:-300}
CONVERSATIONS=${DEMO_CONVERSATIONS:-300}
LATENCY_MS=${DEMO_LATENCY_MS:-20}
TOKEN=demo-token
START_DATE=2020-01-01T00:00:00Z

mkdir -p "$DEMO"
TARGET_VENV=$ROOT/$DEMO/target-duckdb
DB=$ROOT/$DEMO/intercom.duckdb
T0=$(date +%s.%N)

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
step() { printf '[%s] %s\n' "$1" "$2"; }
note() { printf '      %s\n' "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
show_log() {  # the end of a log, on failure
    [ -s "$1" ] || return 0
    printf '      --- last lines of %s ---\n' "$1" >&2
    grep -v ' METRIC: ' "$1" | tail -n "${2:-15}" | sed 's/^/      /' >&2
}
pip_install() {  # venv-python log args...: quiet, output to the log, its end shown on failure
    local py=$1 log=$2
    shift 2
    if ! "$py" -m pip install -q --disable-pip-version-check "$@" >>"$log" 2>&1; then
        show_log "$log"
        die "pip install $* (log: $log)"
    fi
}

EMU_PID=
cleanup() {
    if [ -n "$EMU_PID" ] && kill -0 "$EMU_PID" 2>/dev/null; then
        kill "$EMU_PID" 2>/dev/null || true
        wait "$EMU_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'printf "\ninterrupted\n" >&2; exit 130' INT
trap 'printf "\nterminated\n" >&2; exit 143' TERM

printf 'tap-intercom demo: Intercom emulator -> tap-intercom -> target-duckdb -> %s\n\n' "$DEMO/intercom.duckdb"

# 1. The tap, installed from this checkout into .venv.
t=$(now)
: >"$DEMO/pip.log"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv || die "$PYTHON -m venv .venv"
pip_install .venv/bin/python "$DEMO/pip.log" .
step 1/6 "$(.venv/bin/tap-intercom --version) installed in .venv ($(since "$t") s)"

# 2. The target in its own venv; reinstalled only when the pins changed or the venv is broken.
t=$(now)
if ! [ -x "$TARGET_VENV/bin/target-duckdb" ] || ! "$TARGET_VENV/bin/python" - "$TARGET_PIN" "$DUCKDB_PIN" 2>/dev/null <<'EOF'
import sys
from importlib.metadata import version
sys.exit(any(version(pin.split("==")[0]) != pin.split("==")[1] for pin in sys.argv[1:]))
EOF
then
    rm -rf "$TARGET_VENV"
    "$PYTHON" -m venv "$TARGET_VENV" || die "$PYTHON -m venv $TARGET_VENV"
    pip_install "$TARGET_VENV/bin/python" "$DEMO/pip.log" "$TARGET_PIN" "$DUCKDB_PIN"
fi
step 2/6 "$TARGET_PIN with $DUCKDB_PIN in $DEMO/target-duckdb ($(since "$t") s)"

# 3. The emulator, in the background.
READY=$DEMO/emulator.url
rm -f "$READY"
.venv/bin/python -m intercom_emulator --port 0 --ready-file "$READY" --token "$TOKEN" \
    --contacts "$CONTACTS" --companies "$COMPANIES" --conversations "$CONVERSATIONS" \
    --latency-ms "$LATENCY_MS" >"$DEMO/emulator.log" 2>&1 &
EMU_PID=$!
for _ in $(seq 1 300); do
    [ -s "$READY" ] && break
    kill -0 "$EMU_PID" 2>/dev/null || { show_log "$DEMO/emulator.log"; die "the emulator stopped while starting"; }
    sleep 0.1
done
[ -s "$READY" ] || { show_log "$DEMO/emulator.log"; die "the emulator was not ready after 30 s"; }
URL=$(head -n 1 "$READY")
step 3/6 "emulator on $URL: $CONTACTS contacts, $COMPANIES companies, $CONVERSATIONS conversations, ${LATENCY_MS} ms latency"

cat >"$DEMO/tap-config.json" <<EOF
{"access_token": "$TOKEN", "start_date": "$START_DATE", "base_url": "$URL", "custom_object_types": ["Order", "Product"]}
EOF
cat >"$DEMO/target-config.json" <<EOF
{"path": "$DB", "default_target_schema": "main"}
EOF
rm -f "$DB" "$DB.wal" "$DEMO/state.json"

# tap-intercom | capture | target-duckdb. capture passes every line through and notes records per stream and
# the tap's last STATE; the target's last output line (the state it committed) becomes .demo/state.json.
run_sync() {  # name [tap args...]
    local name=$1 status
    shift
    set +e
    .venv/bin/tap-intercom --config "$DEMO/tap-config.json" "$@" 2>"$DEMO/$name-tap.log" \
        | .venv/bin/python scripts/demo_report.py capture "$DEMO/$name-run.json" \
        | "$TARGET_VENV/bin/target-duckdb" --config "$DEMO/target-config.json" \
            >"$DEMO/$name-target-state.jsonl" 2>"$DEMO/$name-target.log"
    status=("${PIPESTATUS[@]}")
    set -e
    if [ "${status[*]}" != "0 0 0" ]; then
        show_log "$DEMO/$name-tap.log"
        show_log "$DEMO/$name-target.log"
        die "$name sync: exit status tap=${status[0]} capture=${status[1]} target=${status[2]} (logs: $DEMO/$name-*.log)"
    fi
    [ -s "$DEMO/$name-target-state.jsonl" ] || die "$name sync: target-duckdb emitted no state"
    tail -n 1 "$DEMO/$name-target-state.jsonl" >"$DEMO/state.json"
    # The target's state should be the tap's last one; say so when it is not.
    .venv/bin/python - "$DEMO/$name-run.json" "$DEMO/state.json" <<'EOF'
import json, sys
tap = json.load(open(sys.argv[1]))["last_state"]
target = json.load(open(sys.argv[2]))
if tap != target:
    print("      NOTE: the target's last state differs from the tap's last STATE message")
EOF
}
records() { .venv/bin/python -c 'import json, sys; print(format(sum(json.load(open(sys.argv[1]))["records"].values()), ","))' "$1"; }

# 4. Full sync of every stream (no catalog: the tap selects every stream by default).
t=$(now)
run_sync full
FULL_S=$(since "$t")
step 4/6 "full sync: $(records "$DEMO/full-run.json") records in $FULL_S s, state saved to $DEMO/state.json"

# 5. What landed in DuckDB, next to the emulator's ground truth.
echo
step 5/6 "rows per table in $DEMO/intercom.duckdb and in the emulator's workspace"
PROBLEMS=0
"$TARGET_VENV/bin/python" scripts/demo_report.py loaded "$URL" "$DB" "$DEMO/full-run.json" || PROBLEMS=1
echo
note "each teammate's conversations (docs/QUERIES.md: teammate_conversations, from the conversation_teammates link table):"
"$TARGET_VENV/bin/python" scripts/demo_report.py query "$DB" teammate_conversations || PROBLEMS=1

# 6. Change the workspace, sync incrementally from the saved state, check the upserts.
echo
step 6/6 "changing the workspace through the emulator's control API"
"$TARGET_VENV/bin/python" scripts/demo_report.py mutate "$URL" "$DB" "$DEMO/changes.json" \
    || die "mutating the workspace failed"
t=$(now)
run_sync incremental --state "$DEMO/state.json"
INCR_S=$(since "$t")
note "incremental sync with --state $DEMO/state.json: $(records "$DEMO/incremental-run.json") records in $INCR_S s"
note "(besides the changes: what the tap re-reads in its 15-minute lookback, and the full-table streams)"
echo
"$TARGET_VENV/bin/python" scripts/demo_report.py changed "$URL" "$DB" "$DEMO/incremental-run.json" \
    "$DEMO/changes.json" || PROBLEMS=1

# Email analysis (docs/MESSAGES.md): the message streams are not selected by default (an export is a job on
# Intercom's side), so they get a run of their own, with a catalog selecting them; then the open and click rate
# per email in the last 30 days, checked against the emulator's files.
echo
t=$(now)
.venv/bin/tap-intercom --config "$DEMO/tap-config.json" --discover >"$DEMO/catalog.json" 2>"$DEMO/discover.log" \
    || { show_log "$DEMO/discover.log"; die "discovery failed"; }
.venv/bin/python scripts/demo_report.py select_messages "$DEMO/catalog.json" >"$DEMO/messages-catalog.json"
run_sync messages --catalog "$DEMO/messages-catalog.json" --state "$DEMO/state.json"
step messages "email analysis: $(records "$DEMO/messages-run.json") receipts and events from the content data export in $(since "$t") s"
"$TARGET_VENV/bin/python" scripts/demo_report.py messages "$URL" "$DB" || PROBLEMS=1

echo
if [ "$PROBLEMS" = 0 ]; then
    printf 'Done in %s s: full sync %s s, incremental %s s; every table in %s matches the emulator, no duplicates.\n' \
        "$(since "$T0")" "$FULL_S" "$INCR_S" "$DEMO/intercom.duckdb"
    printf 'Explore it: %s -c "import duckdb; print(duckdb.connect(%s).sql(%s))"\n' \
        "$DEMO/target-duckdb/bin/python" "'$DEMO/intercom.duckdb'" "'SELECT name, email FROM users LIMIT 5'"
else
    printf 'Done in %s s, BUT DuckDB and the emulator disagree (MISMATCH above); logs in %s/*.log\n' \
        "$(since "$T0")" "$DEMO"
    exit 1
fi

# dbt (docs/DBT.md): our models on the DuckDB file, and Fivetran's dbt_intercom on them where DBT_INTERCOM_PATH
# (default ../shared/dbt-packages) holds it. dbt goes into its own venv, .demo/dbt (from PyPI). DEMO_DBT=0 skips.
if [ "${DEMO_DBT:-1}" = 1 ]; then
    echo
    t=$(now)
    DBT_TARGET=duckdb DUCKDB_PATH="$DB" TAP_SCHEMA=main DBT_VENV="$ROOT/$DEMO/dbt" scripts/dbt_models.sh \
        >"$DEMO/dbt.log" 2>&1 || { show_log "$DEMO/dbt.log"; die "building the dbt models failed"; }
    note "dbt models built in $(since "$t") s ($(grep -o 'PASS=[0-9]*' "$DEMO/dbt.log" | tail -1) models and tests; log: $DEMO/dbt.log)"
    "$DEMO/dbt/bin/python" - "$DB" <<'PY'
import sys, duckdb
db = duckdb.connect(sys.argv[1], read_only=True)
have = {r[0] for r in db.sql("select table_schema || '.' || table_name from information_schema.tables").fetchall()}
if "main_intercom.intercom__conversation_metrics" in have:
    n, reopens, assignments, response, close = db.sql("""
        select count(*), sum(count_reopens), sum(count_assignments), median(time_to_first_response_minutes),
               median(time_to_first_close_minutes) from main_intercom.intercom__conversation_metrics""").fetchone()
    print(f"  dbt_intercom: {n} conversations, {reopens} reopens, {assignments} assignments; median time to first "
          f"response {response} min, to first close {close} min (main_intercom.intercom__conversation_metrics)")
office = db.sql("""select median(office_time_to_first_response_minutes), median(time_to_first_response_minutes)
                   from main_tap_intercom.tap_intercom__conversation_office_hours""").fetchone()
snoozed = db.sql("select count(*), sum(snoozed_minutes) from main_tap_intercom.tap_intercom__conversation_time_in_state "
                 "where snoozed_minutes > 0").fetchone()
print(f"  tap_intercom: median time to first response {office[1]} min, of which {office[0]} min within office hours "
      f"(main_tap_intercom.tap_intercom__conversation_office_hours); {snoozed[0]} conversations snoozed "
      f"{snoozed[1]} min in all (tap_intercom__conversation_time_in_state)")
PY
fi
