#!/usr/bin/env bash
# Builds and tests the dbt models on a schema the tap loaded: our package (dbt/, tap_intercom) and, where
# DBT_INTERCOM_PATH holds them, Fivetran's dbt_intercom with fivetran_utils and dbt_utils, unchanged, on it.
# Nothing is fetched but dbt itself: from PyPI into a venv ($DBT_VENV, default .dbt-venv) when it is missing.
# Exits non-zero when any model or test fails; prints the schemas it built.
#
# Environment:
#   DBT_TARGET        postgres (default) or duckdb
#   TAP_SCHEMA        the schema holding the tap's tables (default intercom; target-duckdb's default_target_schema)
#   PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE   the PostgreSQL server (DBT_TARGET=postgres)
#   DUCKDB_PATH       the DuckDB file (DBT_TARGET=duckdb)
#   DBT_INTERCOM_PATH a folder holding dbt_intercom, fivetran_utils and dbt_utils (default ../shared/dbt-packages);
#                     when it has no dbt_intercom, only our own models are built
#   DBT_SCHEMA        the models' schema prefix (default TAP_SCHEMA); DBT_VARS: more --vars, as YAML
#   DBT_VENV          a venv holding dbt (default .dbt-venv in the checkout; scripts/e2e_setup.sh builds .e2e/dbt)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DBT_VENV=${DBT_VENV:-$ROOT/.dbt-venv}
# The pins scripts/e2e_setup.sh installs too. dbt-core 1.12 fetches a parser from outside PyPI as it installs;
# duckdb stays at target-duckdb's 1.0.0, which writes the file the models read.
DBT_PINS="dbt-core==1.11.16 dbt-postgres==1.11.0 dbt-duckdb==1.11.1 duckdb==1.0.0"

export DBT_TARGET=${DBT_TARGET:-postgres}
export TAP_SCHEMA=${TAP_SCHEMA:-intercom}
export DBT_SCHEMA=${DBT_SCHEMA:-$TAP_SCHEMA}
export DBT_PROFILES_DIR=$ROOT/dbt
export DBT_SEND_ANONYMOUS_USAGE_STATS=false
case "$DBT_TARGET" in
    postgres) ;;
    duckdb)
        [ -n "${DUCKDB_PATH:-}" ] || { echo "dbt_models: DBT_TARGET=duckdb needs DUCKDB_PATH (the DuckDB file)" >&2; exit 2; }
        [ -f "$DUCKDB_PATH" ] || { echo "dbt_models: no DuckDB file at $DUCKDB_PATH" >&2; exit 2; }
        export DUCKDB_PATH=$(cd "$(dirname "$DUCKDB_PATH")" && pwd)/$(basename "$DUCKDB_PATH") ;;
    *) echo "dbt_models: DBT_TARGET must be postgres or duckdb, not '$DBT_TARGET'" >&2; exit 2 ;;
esac

if ! "$DBT_VENV/bin/dbt" --version >/dev/null 2>&1; then
    echo "dbt_models: building $DBT_VENV ($DBT_PINS)"
    rm -rf "$DBT_VENV"
    "${PYTHON:-python3}" -m venv "$DBT_VENV"
    # shellcheck disable=SC2086 # several packages
    "$DBT_VENV/bin/python" -m pip install -q --disable-pip-version-check $DBT_PINS
fi
DBT=$DBT_VENV/bin/dbt

DBT_INTERCOM_PATH=${DBT_INTERCOM_PATH:-$ROOT/../shared/dbt-packages}
if [ -f "$DBT_INTERCOM_PATH/dbt_intercom/dbt_project.yml" ]; then
    export DBT_INTERCOM_PATH=$(cd "$DBT_INTERCOM_PATH" && pwd)
    PROJECT=$ROOT/dbt/with_dbt_intercom
    VARS="{intercom_schema: ${DBT_SCHEMA}_fivetran${DBT_VARS:+, $DBT_VARS}}"
    SCHEMAS="${DBT_SCHEMA}_stg_tap_intercom ${DBT_SCHEMA}_fivetran ${DBT_SCHEMA}_tap_intercom ${DBT_SCHEMA}_stg_intercom ${DBT_SCHEMA}_intercom"
    echo "dbt_models: tap_intercom and dbt_intercom ($DBT_INTERCOM_PATH) on $DBT_TARGET, tables in $TAP_SCHEMA"
    (cd "$PROJECT" && "$DBT" deps --quiet)
else
    PROJECT=$ROOT/dbt
    VARS="{${DBT_VARS:-}}"
    SCHEMAS="${DBT_SCHEMA}_stg_tap_intercom ${DBT_SCHEMA}_fivetran ${DBT_SCHEMA}_tap_intercom"
    echo "dbt_models: tap_intercom on $DBT_TARGET, tables in $TAP_SCHEMA (no dbt_intercom in $DBT_INTERCOM_PATH: our models only)"
fi

# dbt build: every model then its tests, in dependency order; a failure skips what depends on it and exits 1.
(cd "$PROJECT" && "$DBT" build --vars "$VARS" ${DBT_ARGS:-})
echo "dbt_models: built schemas: $SCHEMAS"
