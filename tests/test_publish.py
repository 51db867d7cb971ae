"""Publishing: versions kept, the pack path switched atomically, failures leave the last pack intact."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from boardpack import publish
from boardpack.cache import sha256_file


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
