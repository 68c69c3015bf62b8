#!/usr/bin/env bash
# Prepares what the end-to-end tests (tests/test_e2e_*.py) need beside the tap's own .venv:
#   - PostgreSQL 15 running on localhost:5432, with a role and a database for the tests;
#   - each Singer target's own virtual environment under .e2e/ (never the tap's venv: their pins clash):
#     meltanolabs-target-postgres, pipelinewise-target-postgres and target-duckdb,
#     Meltano's, the orchestrator of tests/test_e2e_meltano.py, and dbt's (tests/test_e2e_dbt.py);
#   - the published peer's (tap-intercom 2.2.5 from PyPI: the same distribution name as this tap, so never in
#     .venv), which tests/test_emulator.py runs against the emulator.
# Idempotent and quick when everything is already there. Runs as root on a fresh machine and in CI (where it
# starts PostgreSQL itself); as another user it needs PostgreSQL already running with the role and database.
# One line per step. Environment: PYTHON (default python3) for the venvs; E2E_PG_* to use another server.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
E2E=$ROOT/.e2e
PYTHON=${PYTHON:-python3}
PG_VERSION=15
PG_CLUSTER=main
PG_HOST=${E2E_PG_HOST:-localhost}
PG_PORT=${E2E_PG_PORT:-5432}
PG_USER=${E2E_PG_USER:-tap_intercom}
PG_PASSWORD=${E2E_PG_PASSWORD:-tap_intercom_e2e}
PG_DATABASE=${E2E_PG_DATABASE:-tap_intercom_test}

# The pinned versions: each goes into its own venv. Change a pin here and the venv is rebuilt.
MELTANO_PIN="meltano==4.4.1"
TARGET_POSTGRES_PIN="meltanolabs-target-postgres==0.8.1"
PIPELINEWISE_PIN="pipelinewise-target-postgres==2.1.2"  # ignores ACTIVATE_VERSION: tests/test_e2e_deletions.py
# target-duckdb 0.8.0 leaves duckdb unpinned; duckdb >= 1.1 drops a row per batch with it (scripts/demo.sh)
DUCKDB_TARGET_PIN="target-duckdb==0.8.0 duckdb==1.0.0"
PEER_PIN="tap-intercom==2.2.5"  # singer-io/tap-intercom, run through ../shared/peer/run_peer.py
# dbt for scripts/dbt_models.sh (the same pins as there): dbt-core 1.12 fetches a parser from outside PyPI as it
# installs, 1.11 does not; duckdb at target-duckdb's version, which writes the file the models read.
DBT_PIN="dbt-core==1.11.16 dbt-postgres==1.11.0 dbt-duckdb==1.11.1 duckdb==1.0.0"

step() { printf 'e2e-setup: %s\n' "$*"; }

as_postgres() {
    # from / : psql as postgres cannot read a private working directory (a mktemp clone, say)
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else (cd / && sudo -n -u postgres "$@"); fi
}

# ---- PostgreSQL ---------------------------------------------------------------------------------------
if [ -z "${E2E_PG_HOST:-}" ]; then
    if ! command -v pg_ctlcluster >/dev/null || [ ! -x "/usr/lib/postgresql/$PG_VERSION/bin/postgres" ]; then
        step "installing postgresql-$PG_VERSION (apt)"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$PG_VERSION" >/dev/null
    fi
    if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$PG_VERSION $PG_CLUSTER"; then
        step "creating cluster $PG_VERSION/$PG_CLUSTER"
        pg_createcluster "$PG_VERSION" "$PG_CLUSTER" >/dev/null
    fi
    if pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}' | grep -qx online; then
        step "postgresql $PG_VERSION/$PG_CLUSTER already running"
    else
        step "starting postgresql $PG_VERSION/$PG_CLUSTER"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
    fi
    for _ in $(seq 1 60); do
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break
        sleep 0.5
    done
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || { step "postgresql does not answer on $PG_HOST:$PG_PORT"; exit 1; }

    if as_postgres psql -p "$PG_PORT" -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'" | grep -qx 1; then
        step "role $PG_USER exists"
    else
        step "creating role $PG_USER"
        as_postgres psql -p "$PG_PORT" -q -v ON_ERROR_STOP=1 -c "CREATE ROLE $PG_USER LOGIN"
    fi
    # Always (re)set: cheap, and a changed E2E_PG_PASSWORD then just works.
    as_postgres psql -p "$PG_PORT" -q -v ON_ERROR_STOP=1 -c "ALTER ROLE $PG_USER WITH LOGIN PASSWORD '$PG_PASSWORD'"
    if as_postgres psql -p "$PG_PORT" -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'" | grep -qx 1; then
        step "database $PG_DATABASE exists"
    else
        step "creating database $PG_DATABASE owned by $PG_USER"
        as_postgres createdb -p "$PG_PORT" -O "$PG_USER" "$PG_DATABASE"
    fi
fi
if PGPASSWORD=$PG_PASSWORD psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" -tAc "SELECT 1" \
        >/dev/null 2>&1; then
    step "login $PG_USER@$PG_HOST:$PG_PORT/$PG_DATABASE works"
else
    step "cannot log in as $PG_USER@$PG_HOST:$PG_PORT/$PG_DATABASE"
    exit 1
fi

# ---- the targets' and Meltano's own virtual environments ----------------------------------------------
# A venv is reused when its marker names the same pin. The marker is written last, so a venv without it
# (an interrupted setup, a changed pin) is rebuilt from scratch. The venvs are built in parallel.
mkdir -p "$E2E"
make_venv() {  # name pin check-command...
    local name=$1 pin=$2; shift 2
    local dir=$E2E/$name
    if [ "$(cat "$dir/.e2e-pin" 2>/dev/null)" = "$pin" ] && "$@" >/dev/null 2>&1; then
        step "$name venv ready ($pin)"
        return
    fi
    step "building $name venv ($pin)"
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir"
    # shellcheck disable=SC2086 # a pin may name several packages
    "$dir/bin/python" -m pip install -q --disable-pip-version-check $pin 2>&1 \
        | { grep -v "^WARNING: Location 'file:" || true; }
    "$@" >/dev/null
    echo "$pin" >"$dir/.e2e-pin"
    step "$name venv built ($pin)"
}
make_venv target-postgres "$TARGET_POSTGRES_PIN" "$E2E/target-postgres/bin/target-postgres" --version &
make_venv meltano "$MELTANO_PIN" "$E2E/meltano/bin/meltano" --version &
make_venv pipelinewise-target-postgres "$PIPELINEWISE_PIN" \
    "$E2E/pipelinewise-target-postgres/bin/python" -c "import target_postgres" &
make_venv target-duckdb "$DUCKDB_TARGET_PIN" "$E2E/target-duckdb/bin/target-duckdb" --help &
make_venv peer "$PEER_PIN" "$E2E/peer/bin/python" -I -c "import tap_intercom.client" &  # -I: not ours, from the checkout
make_venv dbt "$DBT_PIN" "$E2E/dbt/bin/dbt" --version &
failed=0
for job in $(jobs -p); do wait "$job" || failed=1; done
[ "$failed" = 0 ] || { step "building a venv failed"; exit 1; }
step "done"
