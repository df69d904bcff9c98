"""The docs stand alone: every repository path they name exists, and nothing cites a reference kept outside.

A path is named in backticks (`ledger/rules.py`, `docs/fills.md`, `tests/e2e/`). Globs (`tests/test_api_*.py`),
placeholders (`artifacts/loadtest-<database>.log`) and paths git ignores (`bench/data/`, made by `make bench`) are
skipped. Fenced code blocks are left out: they hold commands and files of a server, not of the repository.
"""

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from ledger.models import ApiToken
from tests.conftest import database_url

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ["README.md", *sorted(str(path.relative_to(ROOT)) for path in ROOT.glob("docs/*.md"))]
DOCUMENTS += sorted(str(path.relative_to(ROOT)) for path in ROOT.glob("bench/*.md"))
TOP_FOLDERS = ("ledger/", "docs/", "tests/", "bench/", "static/", "templates/", "tradingsite/", "loadtest/")
FENCED = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
QUOTED = re.compile(r"`([^`\n]+)`")
NOT_A_PATH = re.compile(r"[*?\[\]<>{}…]")  # a glob or a placeholder
# The reference the project started from lived outside the repository; docs/domain.md took its place.
OUTSIDE_REFERENCE = "DESIGN.md"


def paths_in(text: str) -> list[str]:
    """The repository paths a text names in backticks, in order, each once; a command's path counts too
    (`bench/feed.py --ticks` names bench/feed.py), a template part's name is cut (`#part`)."""
    paths = []
    for quoted in QUOTED.findall(FENCED.sub("", text)):
        for word in quoted.split():
            path = word.split("#")[0].split("::")[0].rstrip(".,;:")
            if path.startswith(TOP_FOLDERS) and not NOT_A_PATH.search(path) and path not in paths:
                paths.append(path)
    return paths


def ignored_by_git(path: str) -> bool:
    """Whether git ignores the path: something a command makes (bench/data/), not part of the repository."""
    return subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False).returncode == 0


def test_the_readme_the_docs_and_the_bench_pages_are_read():
    assert DOCUMENTS[0] == "README.md"
    assert "docs/domain.md" in DOCUMENTS
    assert "bench/README.md" in DOCUMENTS


def test_paths_are_found_in_backticks_and_in_commands():
    text = "See `ledger/rules.py`, `docs/fills.md`, and run `bench/feed.py --ticks`; not ledger/views.py."
    assert paths_in(text) == ["ledger/rules.py", "docs/fills.md", "bench/feed.py"]


def test_globs_placeholders_and_other_words_are_not_paths():
    text = "`tests/test_api_*.py`, `artifacts/loadtest-<database>.log`, `make bench`, `/srv/ledger`"
    assert paths_in(text) == []


def test_a_fenced_block_is_left_out_and_a_part_name_cut():
    text = "```sh\n`ledger/gone.py`\n```\nThe part `ledger/templates/ledger/stats.html#day-input`."
    assert paths_in(text) == ["ledger/templates/ledger/stats.html"]


def test_a_path_git_ignores_is_made_by_a_command():
    assert ignored_by_git("bench/data/")
    assert not ignored_by_git("ledger/rules.py")


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_path_a_document_names_exists(document):
    named = paths_in((ROOT / document).read_text(encoding="utf-8"))
    missing = [path for path in named if not (ROOT / path).exists() and not ignored_by_git(path)]
    assert missing == [], f"{document} names paths that are not in the repository: {', '.join(missing)}"


def test_no_tracked_file_cites_the_reference_kept_outside():
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    this_file = str(Path(__file__).resolve().relative_to(ROOT))
    citing = [
        name
        for name in tracked.decode().split("\0")
        if name
        and name != this_file
        and (ROOT / name).is_file()
        and OUTSIDE_REFERENCE.encode() in (ROOT / name).read_bytes()
    ]
    assert citing == [], f"these files cite {OUTSIDE_REFERENCE}, which is not in the repository: {citing}"


@pytest.mark.django_db(transaction=True)
def test_the_readmes_token_command_works_as_shown():
    """Issue 24: the README showed `manage.py create_api_token NAME`, which stops outside `make run` (no SECRET_KEY)."""
    shown = re.search(r"`(make token\s+NAME=\S+ SCOPE=\w+)`", (ROOT / "README.md").read_text()).group(1)
    # a trader's shell: no settings of the tests, nor of a `make` this suite may run under
    kept_out = ("SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    bare = {k: v for k, v in os.environ.items() if k not in kept_out}

    done = subprocess.run(
        shlex.split(" ".join(shown.split())),
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=bare | {"DATABASE_URL": database_url()},
    )

    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token.startswith("pt_")
    assert ApiToken.objects.get(name="signal-bot").scope == ApiToken.Scope.TRADE
