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

    @cli.add_subcommand
    def register(sub):
        p = sub.add_parser("hello")
        p.set_defaults(func=lambda args: print("hi") or 3)

    try:
        assert cli.main(["hello"]) == 3
        assert "hi" in capsys.readouterr().out
    finally:
        cli.remove_subcommand(register)
    assert register not in cli.registered_subcommands()
    with pytest.raises(SystemExit):
        cli.main(["hello"])


def test_cli_import_is_light():
    code = "import sys, neurokit.cli; print(','.join(m for m in ('torch', 'nilearn', 'nibabel') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


@pytest.mark.parametrize("how, status, word", [("sigint", 130, "interrupted"), ("sigterm", 143, "terminated")])
def test_interrupts_stop_with_one_line_and_run_clean_up(how, status, word, capsys, monkeypatch):
    import os
    import signal
    import time

    cleaned = []

    def work(args):
        try:
            os.kill(os.getpid(), signal.SIGINT if how == "sigint" else signal.SIGTERM)
            time.sleep(30)  # the signal arrives here
            return 0
        finally:
            cleaned.append(True)

    register = cli.add_subcommand(lambda sub: sub.add_parser("work").set_defaults(func=work))
    # as from an interactive shell: a run started in the background of a script inherits an ignored SIGINT
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    before = signal.getsignal(signal.SIGTERM)
    start = time.monotonic()
    try:
        assert cli.main(["work"]) == status
    finally:
        cli.remove_subcommand(register)
    assert time.monotonic() - start < 20 and cleaned == [True]
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"neurokit work: {word}; run the same command again to resume"]
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back
    signal.signal(signal.SIGINT, previous_int)


def test_registering_a_command_twice_adds_it_once():
    def register(sub):
        sub.add_parser("once").set_defaults(func=lambda args: 0)

    before = cli.registered_subcommands()
    cli.add_subcommand(register)
    cli.add_subcommand(register)
    try:
        assert cli.registered_subcommands() == (*before, register)
        assert cli.main(["once"]) == 0
    finally:
        cli.remove_subcommand(register)
    assert cli.registered_subcommands() == before
    cli.remove_subcommand(register)  # removing what is not registered does nothing


def _report(tmp_path, name, **numbers):
    folder = tmp_path / name
    folder.mkdir()
    doc = {"settings": {"output": str(folder), "seed": 0}, "claims": [{"id": "a", "ci": [0.1, 0.2]}], **numbers}
    (folder / "report.json").write_text(json.dumps(doc))
    return folder


def test_compare_reports_command_lists_the_differing_paths(tmp_path, capsys):
    a = _report(tmp_path, "a", ensemble={"r": 0.5, "n": 3}, nan=float("nan"))
    b = _report(tmp_path, "b", ensemble={"r": 0.5, "n": 3}, nan=float("nan"))
    assert cli.main(["compare-reports", str(a), str(b / "report.json")]) == 0
    out = capsys.readouterr().out
    assert "excluded: settings.output" in out and "identical" in out
    c = _report(tmp_path, "c", ensemble={"r": 0.5000001, "n": 3}, nan=float("nan"))
    assert cli.main(["compare-reports", str(a), str(c)]) == 2
    assert "differs: ensemble.r" in capsys.readouterr().out
    # without the default exclusion the output folders differ too
    assert cli.main(["compare-reports", str(a), str(b), "--exclude", "ensemble.*"]) == 2
    assert "differs: settings.output" in capsys.readouterr().out
    assert cli.main(["compare-reports", str(a), str(tmp_path / "nowhere")]) == 1
    assert "cannot read" in capsys.readouterr().err
