"""`.ci/run` runs the README's test and check commands as written there.

The README tells a contributor how to run the tests and the static checks
(import contracts, types); CI must run exactly those, so the two never drift.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _readme_commands() -> list[str]:
    """The lines of the ```sh blocks between "Run the tests" and the next section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("Run the tests")
    section = readme[start:readme.index("\n## ", start)]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readme_test_and_check_commands_as_written():
    commands = _readme_commands()
    assert any("pytest" in c for c in commands) and any("lint-imports" in c and "mypy" in c for c in commands)
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert [c for c in commands if c not in ci] == []
