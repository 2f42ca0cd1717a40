"""Every documentation reference in the code resolves for anyone who clones the
repository.

Code comments and docstrings cite the project's own documentation as
``docs/<file>.md`` or ``docs/<file>.md#<anchor>`` (platform facts, the
configuration reference, …). The rule, checked on ``crossdock/``,
``benchmarks/``, ``tests/`` and ``README.md``:

1. the cited file exists under ``docs/``;
2. the anchor, when there is one, is the GitHub slug of a heading of that file
   (or an explicit ``<a id=…>`` / ``<a name=…>``), so the link lands on the
   section a reader is sent to;
3. nothing cites ``FACTS.md``: that file lived outside the repository, and its
   facts, with their public sources, are now in ``docs/platform-facts.md``.

Links between the documents themselves (``[text](other.md#anchor)``,
``[text](#anchor)`` inside ``docs/``) are held to rules 1 and 2 too.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
SCANNED_DIRS = ("crossdock", "benchmarks", "tests")
SCANNED_SUFFIXES = {".py", ".md", ".toml", ".txt", ".cfg", ".ini", ".yml", ".yaml"}
THIS_FILE = Path(__file__).resolve()

#: ``docs/<file>.md`` with an optional ``#anchor``.
DOC_REFERENCE = re.compile(r"(?<![\w./-])docs/(?P<file>[\w./-]+?\.md)(?:#(?P<anchor>[\w-]+))?")
#: ``FACTS.md`` anywhere (a bare file name, or any path ending in it).
FACTS_CITATION = re.compile(r"\bFACTS\.md\b")
#: A markdown link target inside docs/: ``(file.md#anchor)``, ``(#anchor)``, ``(file.md)``.
MARKDOWN_LINK = re.compile(r"\]\((?P<file>[\w./-]*?\.md)?(?:#(?P<anchor>[\w-]+))?\)")
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(?P<text>.+?)[ \t]*#*[ \t]*$")
HTML_ANCHOR = re.compile(r"""<a\s+(?:id|name)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
FENCE = re.compile(r"^ {0,3}(```|~~~)")


def github_slug(text: str) -> str:
    """The anchor GitHub gives a heading: markup and punctuation removed,
    lower case, spaces to hyphens (the first occurrence; see :func:`anchors`)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)      # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)                          # inline HTML tags
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)                         # punctuation, backticks, emphasis marks…
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every anchor a markdown document offers: heading slugs (repeated
    headings get ``-1``, ``-2``… as on GitHub) and explicit HTML anchors."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    in_fence = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        found.update(HTML_ANCHOR.findall(line))
        heading = ATX_HEADING.match(line)
        if not heading:
            continue
        slug = github_slug(heading.group("text"))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def scanned_files() -> Iterator[Path]:
    yield REPO / "README.md"
    for top in SCANNED_DIRS:
        for path in sorted((REPO / top).rglob("*")):
            if path.is_file() and path.suffix in SCANNED_SUFFIXES and "__pycache__" not in path.parts:
                yield path


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _anchors_of(doc: Path, cache: dict[Path, set[str]]) -> set[str]:
    if doc not in cache:
        cache[doc] = anchors(_read(doc))
    return cache[doc]


def broken_code_references() -> list[str]:
    """``path:line: reference — why`` for every ``docs/…md[#anchor]`` that does
    not resolve, in the scanned code, tests, benchmarks and README."""
    broken: list[str] = []
    cache: dict[Path, set[str]] = {}
    for path in scanned_files():
        if path.resolve() == THIS_FILE:
            continue
        text = _read(path)
        for match in DOC_REFERENCE.finditer(text):
            where = f"{path.relative_to(REPO)}:{_line_of(text, match.start())}: {match.group(0)}"
            doc = DOCS / match.group("file")
            if not doc.is_file():
                broken.append(f"{where} — no such file")
            elif match.group("anchor") and match.group("anchor") not in _anchors_of(doc, cache):
                broken.append(f"{where} — no heading with that anchor in {doc.relative_to(REPO)}")
    return broken


def broken_doc_links() -> list[str]:
    """The same for markdown links between the files of ``docs/``."""
    broken: list[str] = []
    cache: dict[Path, set[str]] = {}
    for source in sorted(DOCS.glob("*.md")):
        text = _read(source)
        for match in MARKDOWN_LINK.finditer(text):
            target_name, anchor = match.group("file"), match.group("anchor")
            if target_name is None and anchor is None:
                continue
            target = (source.parent / target_name).resolve() if target_name else source
            where = f"{source.relative_to(REPO)}:{_line_of(text, match.start())}: {match.group(0)[1:]}"
            if not target.is_file():
                broken.append(f"{where} — no such file")
            elif anchor and anchor not in _anchors_of(target, cache):
                broken.append(f"{where} — no heading with that anchor")
    return broken


def facts_citations() -> list[str]:
    """``path:line`` of every file that still cites ``FACTS.md``."""
    cited: list[str] = []
    for path in [*scanned_files(), *sorted(DOCS.glob("*.md"))]:
        if path.resolve() == THIS_FILE:
            continue
        text = _read(path)
        cited.extend(f"{path.relative_to(REPO)}:{_line_of(text, m.start())}" for m in FACTS_CITATION.finditer(text))
    return cited


# ------------------------------------------------------------------ the checker itself


@pytest.mark.parametrize(("heading", "slug"), [
    ("Amazon usage plans", "amazon-usage-plans"),
    ("How to read this page", "how-to-read-this-page"),
    ("Amazon SP-API quota (uncertain)", "amazon-sp-api-quota-uncertain"),
    ("`crossdock auth`: what expires, when?", "crossdock-auth-what-expires-when"),
    ("[Platform SDKs](dependencies.md) and *their* limits", "platform-sdks-and-their-limits"),
    ("snake_case_name 2.x", "snake_case_name-2x"),
])
def test_slugs_are_the_ones_github_gives(heading, slug):
    assert github_slug(heading) == slug


def test_repeated_headings_and_html_anchors_and_fenced_code():
    # Given a document with a repeated heading, an explicit anchor and a
    # heading-like line inside a code block
    doc = "# Notes\n\n## Limits\n\n## Limits\n\n<a id=\"kept-anchor\"></a>\n```sh\n# not a heading\n```\n"

    # Then GitHub's anchors are offered, and only those
    assert anchors(doc) == {"notes", "limits", "limits-1", "kept-anchor"}


def test_a_missing_anchor_is_reported(tmp_path, monkeypatch):
    # Given a doc with one section and a module citing it and a section it lacks
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "facts.md").write_text("# Facts\n\n## Real section\n", encoding="utf-8")
    (tmp_path / "crossdock").mkdir()
    (tmp_path / "crossdock" / "mod.py").write_text(
        "# fine: docs/facts.md#real-section\n# stale: docs/facts.md#gone-section\n# docs/absent.md\n",
        encoding="utf-8")
    (tmp_path / "README.md").write_text("see FACTS.md\n", encoding="utf-8")
    for name in ("benchmarks", "tests"):
        (tmp_path / name).mkdir()
    module = sys.modules[__name__]
    monkeypatch.setattr(module, "REPO", tmp_path)
    monkeypatch.setattr(module, "DOCS", tmp_path / "docs")

    # When the references are checked
    broken = broken_code_references()

    # Then the stale anchor and the absent file are reported, the good one is not
    assert broken == [
        "crossdock/mod.py:2: docs/facts.md#gone-section — no heading with that anchor in docs/facts.md",
        "crossdock/mod.py:3: docs/absent.md — no such file",
    ]
    assert facts_citations() == ["README.md:1"]


# ------------------------------------------------------------------ the repository


def test_every_doc_reference_in_code_tests_and_readme_resolves():
    broken = broken_code_references()
    assert not broken, "documentation references that do not resolve:\n" + "\n".join(broken)


def test_links_between_the_docs_resolve():
    broken = broken_doc_links()
    assert not broken, "links in docs/ that do not resolve:\n" + "\n".join(broken)


def test_nothing_cites_facts_md():
    cited = facts_citations()
    assert not cited, ("FACTS.md is not part of the repository; cite the section of docs/platform-facts.md "
                       "instead:\n" + "\n".join(cited))


def test_the_platform_facts_are_linked_from_the_readme_and_the_platform_guide():
    assert "docs/platform-facts.md" in _read(REPO / "README.md")
    assert "platform-facts.md" in _read(DOCS / "platforms.md")
