import json
import subprocess
import sys

import pytest

from neurokit import cli


def test_info_text_lists_versions_devices_and_assets(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    for word in ("torch", "numpy", "nilearn", "nibabel", "triton", "devices:", "CPU:", "offline assets:",
                 "fsaverage5 meshes", "EfficientNet-Lite0", "DCGAN", "photographs (skimage)", "open_clip"):
        assert word in out, word


def test_info_json(capsys):
    assert cli.main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    from neurokit import __version__

    assert info["versions"]["neurokit"] == __version__
    assert info["devices"]["cpu_count"] >= 1 and isinstance(info["devices"]["cuda"], list)
    status = {a["name"]: a["status"] for a in info["assets"]}
    # these ship with the toolkit's required dependencies
    assert status["fsaverage5 meshes (nilearn)"] == "ok"
    assert status["EfficientNet-Lite0 ImageNet weights"] == "ok"
    assert status["photographs (skimage)"] in ("ok", "partial")
    assert set(status.values()) <= {"ok", "partial", "missing", "not installed"}


def test_missing_assets_are_reported(monkeypatch):
    monkeypatch.setattr(cli, "_package_dir", lambda name: None)
    info = cli.collect_info(devices=False)
    assert all(a["status"] == "not installed" for a in info["assets"])
    assert info["devices"] == {}
    assert "not installed" in cli.format_info(info)


def test_partial_asset(tmp_path, monkeypatch):
    (tmp_path / "a.png").write_bytes(b"x")
    monkeypatch.setattr(cli, "_package_dir", lambda name: tmp_path)
    entry = cli._files_asset("demo", "pkg", "", ("a.png", "b.png"), "test")
    assert entry["status"] == "partial" and "b.png" in entry["detail"]


def test_parser_needs_a_command_and_subcommands_can_be_added(capsys, monkeypatch):
    with pytest.raises(SystemExit):
        cli.main([])
    monkeypatch.setattr(cli, "_EXTRA_COMMANDS", [])

    @cli.add_subcommand
    def register(sub):
        p = sub.add_parser("hello")
        p.set_defaults(func=lambda args: print("hi") or 3)

    assert cli.main(["hello"]) == 3
    assert "hi" in capsys.readouterr().out


def test_cli_import_is_light():
    code = "import sys, neurokit.cli; print(','.join(m for m in ('torch', 'nilearn', 'nibabel') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


@pytest.mark.parametrize("how, status, word", [("sigint", 130, "interrupted"), ("sigterm", 143, "terminated")])
def test_interrupts_stop_with_one_line_and_run_clean_up(how, status, word, capsys, monkeypatch):
    import os
    import signal
    import time

    monkeypatch.setattr(cli, "_EXTRA_COMMANDS", [])
    cleaned = []

    def work(args):
        try:
            os.kill(os.getpid(), signal.SIGINT if how == "sigint" else signal.SIGTERM)
            time.sleep(30)  # the signal arrives here
            return 0
        finally:
            cleaned.append(True)

    cli.add_subcommand(lambda sub: sub.add_parser("work").set_defaults(func=work))
    # as from an interactive shell: a run started in the background of a script inherits an ignored SIGINT
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    before = signal.getsignal(signal.SIGTERM)
    start = time.monotonic()
    assert cli.main(["work"]) == status
    assert time.monotonic() - start < 20 and cleaned == [True]
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"neurokit work: {word}; run the same command again to resume"]
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back
    signal.signal(signal.SIGINT, previous_int)


def test_registering_a_command_twice_adds_it_once(monkeypatch):
    monkeypatch.setattr(cli, "_EXTRA_COMMANDS", [])

    def register(sub):
        sub.add_parser("once").set_defaults(func=lambda args: 0)

    cli.add_subcommand(register)
    cli.add_subcommand(register)
    assert cli._EXTRA_COMMANDS == [register]
    assert cli.main(["once"]) == 0
