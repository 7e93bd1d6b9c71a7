"""The public contract is pinned: its signatures match tests/contract/snapshot.txt at the
current contract version, and every version has a changelog entry with a migration.

When this fails after a deliberate change: keep the old form working (docs/plugins.md,
"Compatibility"), bump CONTRACT_VERSION in src/genkit/contract/__init__.py, add a
"### X.Y" entry to the contract changelog in docs/plugins.md, then run from the
repository root:

    uv run python -m genkit.contract --update
"""

from __future__ import annotations

import re
from pathlib import Path

import genkit
from genkit import contract
from genkit.contract import snapshot
from genkit.contract.__main__ import main as contract_main

REPO = Path(__file__).resolve().parents[1]
SNAPSHOT = REPO / snapshot.SNAPSHOT
CHANGELOG = REPO / snapshot.CHANGELOG


def current_problems(version: str = contract.CONTRACT_VERSION, changelog: str | None = None) -> list[str]:
    return snapshot.problems(
        SNAPSHOT.read_text(), snapshot.entries(), version, CHANGELOG.read_text() if changelog is None else changelog
    )


def test_the_public_contract_matches_its_snapshot_and_changelog():
    assert current_problems() == []
    assert set(genkit.__all__) == set(contract.EXPORTS)
    # the snapshot covers every public name, the hooks and what a plugin declares
    pinned = snapshot.parse(SNAPSHOT.read_text())[1]
    assert {f"genkit.{name}" for name in genkit.__all__} <= set(pinned)
    assert {"hook.register_models", "plugin.GENKIT_CONTRACT", "genkit.GenerativeModel.prepare_batch"} <= set(pinned)


def test_every_changelog_entry_has_a_one_line_migration():
    log = snapshot.changelog(CHANGELOG.read_text())
    assert contract.CONTRACT_VERSION in log and "1.0" in log
    versions = [contract.parse_version(v) for v in log]
    assert versions == sorted(versions, reverse=True)  # newest first
    for version, items in log.items():
        assert items, version
        for item in items:
            assert re.search(r"Migration: \S", item), (version, item)


def changed_signature(monkeypatch):
    """A public method's keyword renamed, as a careless edit would."""

    def prepare_batch(self, batch, *, rng=None):
        return batch

    monkeypatch.setattr(genkit.GenerativeModel, "prepare_batch", prepare_batch)


def test_a_changed_signature_without_a_version_bump_fails(monkeypatch):
    changed_signature(monkeypatch)
    found = current_problems()
    assert len(found) == 1
    assert "changed without a version bump" in found[0] and "genkit.GenerativeModel.prepare_batch" in found[0]
    assert "rng=None" in found[0] and "python -m genkit.contract --update" in found[0]


def test_a_bump_needs_a_changelog_entry_with_a_migration_then_an_updated_snapshot(monkeypatch, tmp_path):
    changed_signature(monkeypatch)
    text = CHANGELOG.read_text()
    major, minor = contract.parse_version(contract.CONTRACT_VERSION)
    bumped = f"{major}.{minor + 1}"
    assert any(f"no '### {bumped}' section" in p for p in current_problems(bumped))
    heading = snapshot.CHANGELOG_HEADING
    without_migration = text.replace(heading, f"{heading}\n\n### {bumped}\n\n- prepare_batch takes rng.\n", 1)
    assert any("without a one-line 'Migration:'" in p for p in current_problems(bumped, without_migration))
    logged = text.replace(heading, f"{heading}\n\n### {bumped}\n\n- prepare_batch takes rng. Migration: none.\n", 1)
    found = current_problems(bumped, logged)
    assert len(found) == 1 and f"snapshot is of contract {contract.CONTRACT_VERSION}" in found[0]
    # --update then records it, and the check passes
    pinned = tmp_path / "snapshot.txt"
    pinned.write_text(SNAPSHOT.read_text())
    changelog = tmp_path / "plugins.md"
    changelog.write_text(logged)
    assert snapshot.update(pinned, changelog, version=bumped) == []
    assert snapshot.problems(pinned.read_text(), snapshot.entries(), bumped, logged) == []
    assert "rng=None" in pinned.read_text()


def test_update_refuses_a_change_without_a_bump_and_a_removal_in_a_minor_version(monkeypatch, tmp_path):
    changed_signature(monkeypatch)
    pinned = tmp_path / "snapshot.txt"
    pinned.write_text(SNAPSHOT.read_text())
    refused = snapshot.update(pinned, CHANGELOG)
    assert refused and "without a version bump" in refused[0]
    assert pinned.read_text() == SNAPSHOT.read_text()
    monkeypatch.delitem(contract.EXPORTS, "binarize")
    major, minor = contract.parse_version(contract.CONTRACT_VERSION)
    found = current_problems(f"{major}.{minor + 1}")
    assert any("cannot remove public names (removed genkit.binarize)" in p for p in found)
    assert not any("cannot remove" in p for p in current_problems(f"{major + 1}.0"))


def test_the_check_command_runs_from_the_repository_root(monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    assert contract_main(["--check"]) == 0
    assert f"contract {contract.CONTRACT_VERSION}" in capsys.readouterr().out
    changed_signature(monkeypatch)
    assert contract_main(["--check"]) == 1
    assert "without a version bump" in capsys.readouterr().err


def test_signatures_are_stable_text():
    """No memory addresses or reprs that differ between processes."""
    for name, value in snapshot.entries().items():
        assert " at 0x" not in value, name
