"""Publishing: versions kept, the pack path switched atomically, failures leave the last pack intact."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from boardpack import publish
from boardpack.hashing import sha256_file


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _staged(location: publish.PackLocation, text: str) -> Path:
    staging = publish.new_staging(location)
    (staging / "board_pack.html").write_text(text)
    (staging / "appendix").mkdir()
    (staging / "appendix" / "t.csv").write_text(text)
    return staging


@pytest.fixture
def location(tmp_path) -> publish.PackLocation:
    return publish.PackLocation(tmp_path / "reports", "QWU", "2026-27-Q2")


def test_each_publish_is_a_new_version_and_the_pack_path_follows(location):
    first = publish.publish(_staged(location, "one"), location)
    assert location.link.is_symlink() and location.link.resolve() == first.resolve()
    second = publish.publish(_staged(location, "two"), location)
    assert (location.link / "board_pack.html").read_text() == "two"
    assert (first / "board_pack.html").read_text() == "one"  # the previous pack is kept
    assert [first.name, second.name] == ["1", "2"]
    packs = publish.published_packs(location.out_dir)
    assert [(p["icb"], p["quarter_id"], p["versions"]) for p in packs] == [("QWU", "2026-27-Q2", [1, 2])]
    assert not any(p.name.startswith(".2026") for p in location.link.parent.iterdir())  # no temporary links left


def test_failure_at_the_final_switch_leaves_the_last_pack_intact(location, monkeypatch):
    publish.publish(_staged(location, "good"), location)
    before = _files(location.link)
    target = location.link.resolve()
    staging = _staged(location, "bad")

    def disk_full(*_args, **_kwargs):  # simulated, as the hardening issue asks: a full disk at the last step
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(location.link))

    monkeypatch.setattr(publish.os, "replace", disk_full)
    with pytest.raises(publish.PublishError, match="No space left on device.*previous pack is unchanged"):
        publish.publish(staging, location)
    assert location.link.resolve() == target
    assert _files(location.link) == before
    # nothing of the failed publish is left: no temporary link, no version that was never the pack
    assert [p.name for p in location.link.parent.iterdir() if p.name.startswith(".2026")] == []
    assert [p.name for p in location.versions_dir.iterdir()] == ["1"]
    assert publish.published_packs(location.out_dir)[0]["versions"] == [1]
    assert (staging / "board_pack.html").read_text() == "bad"  # back in staging, for the caller to discard


def test_unwritable_publish_folder_is_a_clear_error(tmp_path):
    (tmp_path / "reports").write_text("a file where the folder should be")  # real OSError, even as root
    location = publish.PackLocation(tmp_path / "reports", "QWU", "2026-27-Q2")
    with pytest.raises(publish.PublishError, match="cannot write to the publish folder"):
        publish.new_staging(location)


def test_a_real_folder_at_the_pack_path_is_never_replaced(location):
    location.link.mkdir(parents=True)
    (location.link / "board_pack.html").write_text("hand-made")
    with pytest.raises(publish.PublishError, match="real folder"):
        publish.publish(_staged(location, "new"), location)
    assert (location.link / "board_pack.html").read_text() == "hand-made"


def test_second_holder_of_a_pack_lock_is_refused(tmp_path):
    with publish.pack_lock(tmp_path, "QWU", "2026-27-Q2"):
        with pytest.raises(publish.BuildLocked, match="another build of this pack is running"):
            with publish.pack_lock(tmp_path, "QWU", "2026-27-Q2"):
                pass
        with publish.pack_lock(tmp_path, "QWU", "2026-27-Q1"):  # other packs are free
            pass
    with publish.pack_lock(tmp_path, "QWU", "2026-27-Q2"):  # released after use
        pass


def test_list_command_shows_published_packs(location):
    from typer.testing import CliRunner

    from boardpack.cli import app

    publish.publish(_staged(location, "one"), location)
    publish.publish(_staged(location, "two"), location)
    result = CliRunner().invoke(app, ["list", "--out", str(location.out_dir)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "QWU" in result.output and "2026-27-Q2" in result.output and "1, 2" in result.output


# -- published files follow the user's umask -----------------------------------------------------
@pytest.fixture
def umask():
    """Set the process umask for one test (``umask(0o027)``); the old one is put back after."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


def _modes(out_dir: Path) -> tuple[set[str], set[str]]:
    """(modes of every folder, modes of every file) under ``out_dir``, as octal text; links skipped."""
    entries = [p for p in out_dir.rglob("*") if not p.is_symlink()]
    folders = {oct(p.stat().st_mode & 0o777) for p in entries if p.is_dir()}
    return folders, {oct(p.stat().st_mode & 0o777) for p in entries if p.is_file()}


@pytest.mark.parametrize(
    "mask, folder_mode, file_mode",
    [(0o022, "0o755", "0o644"), (0o027, "0o750", "0o640")],
    ids=["umask-022", "umask-027"],
)
def test_published_folders_and_files_follow_the_umask(location, umask, mask, folder_mode, file_mode):
    umask(mask)
    staging = _staged(location, "one")
    private = staging / "appendix" / "private.csv"  # as a worker or tool with umask 077 would leave it
    private.write_text("x")
    private.chmod(0o600)
    (staging / "appendix").chmod(0o700)
    version = publish.publish(staging, location)
    assert publish.current_umask() == mask
    folders, files = _modes(location.out_dir)
    assert {"1", "QWU", publish.VERSIONS, "2026-27-Q2", "appendix"} <= {
        p.name for p in location.out_dir.rglob("*") if p.is_dir()
    }
    assert folders == {folder_mode}, sorted(p for p in location.out_dir.rglob("*") if p.is_dir())
    assert files == {file_mode}
    assert oct(version.stat().st_mode & 0o777) == folder_mode


def test_staging_folder_is_not_private(location, umask):
    umask(0o022)
    assert oct(publish.new_staging(location).stat().st_mode & 0o777) == "0o755"  # mkdtemp alone gives 0o700


def test_batch_index_follows_the_umask(tmp_path, umask):
    import datetime as dt

    from boardpack.batch import BatchResult, write_index

    umask(0o027)
    index = write_index(BatchResult([], 0, 0, 1.0, "local:1"), tmp_path / "out", dt.datetime(2026, 11, 22, 9, 0))
    assert _modes(tmp_path / "out") == ({"0o750"}, {"0o640"})
    assert {p.name for p in index.parent.iterdir()} == {index.name, index.with_suffix(".json").name}
