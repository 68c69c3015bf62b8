"""The README, sample config and catalog say what the code does."""
import json
import re
import subprocess
import sys

from conftest import ROOT
from tap_intercom.config import SETTINGS
from tap_intercom.streams import STREAMS

README = (ROOT / "README.md").read_text()


def table_names(heading):
    section = README.split(heading, 1)[1].split("\n## ", 1)[0]
    return [m.group(1) for m in re.finditer(r"^\| `([a-z_]+)` \|", section, re.M)]


def test_readme_settings_table_lists_every_setting():
    assert table_names("## Configuration") == list(SETTINGS)


def test_readme_streams_table_lists_every_stream():
    assert table_names("## Streams") == [s.name for s in STREAMS]


def test_sample_config_shows_every_key():
    assert list(json.loads((ROOT / "sample_config.json").read_text())) == list(SETTINGS)


def test_readme_opens_with_the_two_setup_commands():
    first_block = README.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert [line.split()[0] for line in first_block] == ["scripts/demo.sh", "scripts/test.sh"]
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_readme_figures_are_what_the_tap_makes_now():
    """The call counts the README states are measured again (scripts/figures.py): they cannot go stale."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import figures

    assert figures.sentence(figures.measure()) in README, "run scripts/figures.py and paste its sentence"


def test_readme_names_the_streams_a_run_without_a_catalog_leaves_out():
    paragraph = README.split("**What is synced.**", 1)[1].split("\n\n", 1)[0]
    for stream in STREAMS:
        assert (f"`{stream.name}`" in paragraph or stream.history and "history streams" in paragraph) \
            == (not stream.selected_by_default), stream.name
    assert "`users_history` ... `tickets_history`" in paragraph and sum(s.history for s in STREAMS) == 5


def test_readme_install_is_from_git_for_a_project_of_ones_own():
    install = README.split("## Install", 1)[1].split("\n## ", 1)[0]
    assert "pip_url: git+https://github.com/" in install and "TAP_INTERCOM_START_DATE" in install
    meltano = (ROOT / "meltano.yml").read_text()
    assert "start_date: '" not in meltano  # no backfill date chosen for the user


def test_no_file_names_a_path_of_a_developers_machine():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    machine = "/" + "work/"  # spelt so that this file does not name it
    named = [path for path in tracked.split() if (ROOT / path).is_file()
             and machine in (ROOT / path).read_text(errors="replace")]
    assert named == []
