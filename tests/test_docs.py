"""The README, sample config and catalog say what the code does."""
import json
import re

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
