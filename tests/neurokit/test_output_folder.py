"""Output folders: nothing a user owns is replaced, failures leave nothing, a killed run's temporaries are cleaned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from tests.processes import signal_when

from neurokit.exceptions import OutputExistsError
from neurokit.io.atomic import atomic_path, remove_stale_temporaries, temporary_name
from neurokit.io.output_folder import (
    MARKER,
    atomic_output_folder,
    check_output_folder,
    claim_output_folder,
    is_own_output,
)


def _write(folder, text="new"):
    with atomic_output_folder(folder, command="test", overwrite=True) as tmp:
        (tmp / "result.txt").write_text(text)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_new_folder_is_written_whole_with_its_marker(tmp_path):
    out = tmp_path / "out"
    with atomic_output_folder(out, command="test") as tmp:
        assert tmp.parent == tmp_path and tmp.name != "out" and not out.exists()
        (tmp / "a.txt").write_text("a")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "a.txt"]
    assert is_own_output(out)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_an_own_folder_is_replaced_only_with_overwrite(tmp_path):
    out = tmp_path / "out"
    _write(out, "first")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        with atomic_output_folder(out, command="test"):
            pass
    assert (out / "result.txt").read_text() == "first"
    _write(out, "second")
    assert (out / "result.txt").read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # the replaced folder is gone too


def test_a_folder_with_user_files_is_never_replaced(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    for overwrite in (False, True):
        with pytest.raises(OutputExistsError, match="did not write"):
            with atomic_output_folder(out, command="test", overwrite=overwrite):
                pass
        with pytest.raises(OutputExistsError, match="did not write"):
            claim_output_folder(out, command="test")
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    assert (out / "thesis.tex").read_text() == "years of work"
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]


def test_a_user_file_is_never_replaced(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    for overwrite in (False, True):
        with pytest.raises(OutputExistsError, match="not a folder"):
            check_output_folder(target, overwrite=overwrite)
        with pytest.raises(OutputExistsError, match="not a folder"):
            _write(target) if overwrite else claim_output_folder(target, command="test")
    assert target.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_an_empty_folder_may_be_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    with atomic_output_folder(out, command="test") as tmp:
        (tmp / "a.txt").write_text("a")
    assert (out / "a.txt").is_file() and is_own_output(out)


def test_a_failure_leaves_the_old_folder_and_no_temporary(tmp_path):
    out = tmp_path / "out"
    _write(out, "good")
    for error in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(error)):
            with atomic_output_folder(out, command="test", overwrite=True) as tmp:
                (tmp / "result.txt").write_text("half")
                raise error
    assert (out / "result.txt").read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_claimed_folders_are_reused_and_marked(tmp_path):
    out = claim_output_folder(tmp_path / "run", command="demo")
    assert is_own_output(out)
    (out / "stage.json").write_text("{}")
    assert claim_output_folder(out, command="demo") == out
    assert (out / "stage.json").is_file()


def test_stale_temporaries_of_dead_processes_go_and_live_ones_stay(tmp_path):
    dead = _dead_pid()
    stale_dir = tmp_path / temporary_name("out").replace(f"-{os.getpid()}-", f"-{dead}-")
    stale_file = tmp_path / temporary_name("x.npy").replace(f"-{os.getpid()}-", f"-{dead}-")
    live = tmp_path / temporary_name("out")  # this process's own
    parent = tmp_path / temporary_name("out").replace(f"-{os.getpid()}-", f"-{os.getppid()}-")
    other_host = tmp_path / f".tmp-nk-00000000-{dead}-abcd-out"
    user = tmp_path / ".tmp-my-own-notes"
    for folder in (stale_dir, live, parent, other_host, user):
        folder.mkdir()
        (folder / "f").write_text("x")
    stale_file.write_text("x")
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted([stale_dir, stale_file])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (live, parent, other_host, user))


def test_atomic_file_temporaries_carry_the_process_id(tmp_path):
    with atomic_path(tmp_path / "a.mgz") as tmp:
        assert f"-{os.getpid()}-" in tmp.name and tmp.name.endswith("-a.mgz")
        tmp.write_bytes(b"x")
    assert (tmp_path / "a.mgz").read_bytes() == b"x"


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from neurokit.io.output_folder import atomic_output_folder
    with atomic_output_folder(Path(sys.argv[1]), command="test") as tmp:
        for i in range(50):
            (tmp / f"part{i}.bin").write_bytes(b"x" * 1000)
        Path(sys.argv[2]).write_text("ready")
        time.sleep(60)
""")


def test_a_killed_writers_temporary_folder_is_cleaned_by_the_next_run(tmp_path):
    out, ready = tmp_path / "out", tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(out), str(ready)])
    signal_when(proc, ready.exists, signal.SIGKILL, timeout=60, what="the writer's first files")
    ready.unlink()
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    assert len(left) == 1 and len(list(left[0].iterdir())) == 50 and not out.exists()
    _write(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_replace_folder_swaps_whole_folders(tmp_path):
    from neurokit.io.atomic import replace_folder

    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "new.txt").write_text("new")
    final = tmp_path / "final"
    assert replace_folder(staged, final) == final and (final / "new.txt").read_text() == "new"
    again = tmp_path / "again"
    again.mkdir()
    (again / "newer.txt").write_text("newer")
    replace_folder(again, final)
    assert sorted(p.name for p in final.iterdir()) == ["newer.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final"], "the old folder is deleted, nothing left aside"


def test_publish_folder_keeps_the_first_complete_folder(tmp_path):
    from neurokit.io.atomic import publish_folder

    first, second, final = tmp_path / "first", tmp_path / "second", tmp_path / "final"
    for folder, text in ((first, "first"), (second, "second")):
        folder.mkdir()
        (folder / "data.txt").write_text(text)
    assert publish_folder(first, final) is True
    assert publish_folder(second, final) is False, "a later writer never swaps the folder under a reader"
    assert (final / "data.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final"], "the losing copy is deleted"
    with pytest.raises(OSError):
        publish_folder(tmp_path / "missing", tmp_path / "elsewhere")
