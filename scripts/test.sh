#!/usr/bin/env bash
# The test suite, from a fresh machine: installs the tap (as a user would, not editable) and the test tools
# into .venv, starts PostgreSQL and prepares the Singer targets' own virtual environments, then runs pytest.
#   scripts/test.sh                 # everything
#   scripts/test.sh -k incremental  # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install -q --disable-pip-version-check ".[test]"
# the tests import the tap from this tree too: its C step (tap_intercom/records/_finish.c) built in place
.venv/bin/python setup.py -q build_ext --inplace >/dev/null 2>&1 || echo "note: the C step was not built in place"
scripts/e2e_setup.sh
exec .venv/bin/python -m pytest tests "$@"
