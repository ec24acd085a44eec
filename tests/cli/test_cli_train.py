"""`neuralab train / config show / report / eval / predict` from the command line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from neuralab.cli import main

ROOT = Path(__file__).resolve().parents[2]

SMALL = ["--set", "data.options.n=200", "--epochs", "20", "--eval-every", "5",
         "--no-plots"]


@pytest.fixture(autouse=True)
def _agg(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")


def _run_dir(out: str) -> Path:
    return Path(out.strip().splitlines()[-1])


def test_flags_only_run_and_skeleton_aliases(tmp_path, capsys):
    rc = main(["train", "--data", "moons", "--model", "mlp", "--dnn_hidden_units", "8,8",
               "--learning_rate", "0.1", "--max_steps", "20", "--eval_freq", "5",
               "--batch_size", "16", "--out", str(tmp_path), "--quiet", "--no-plots",
               "--set", "data.options.n=200"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert out.err == ""
    lines = out.out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("train_acc=")
    run = Path(lines[1])
    cfg = (run / "config.toml").read_text()
    assert "hidden = [8, 8]" in cfg and "lr = 0.1" in cfg and "batch_size = 16" in cfg
    assert "epochs = 20" in cfg and "eval_every = 5" in cfg


def test_plain_progress_lines_when_not_a_tty(tmp_path, capsys):
    assert main(["train", *SMALL, "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "epoch 20/20 train_loss=" in err and "finished:" in err


def test_config_file_with_sets(tmp_path, capsys):
    f = tmp_path / "exp.toml"
    f.write_text('[model]\nhidden = [4]\n[train]\nepochs = 10\neval_every = 5\n'
                 '[output]\nplots = false\n')
    assert main(["train", str(f), "--set", "train.batch_size=16", "--set", "optim.lr=0.2",
                 "--out", str(tmp_path), "-q"]) == 0
    run = _run_dir(capsys.readouterr().out)
    assert run.name.startswith("exp-")
    text = (run / "config.toml").read_text()
    assert "batch_size = 16" in text and "lr = 0.2" in text


def test_config_show_prints_resolved_toml(tmp_path, capsys):
    assert main(["config", "show", "--set", "optim.lr=0.5"]) == 0
    text = capsys.readouterr().out
    assert "[optim]" in text and "lr = 0.5" in text and "epochs = 100" in text
    import tomllib

    tomllib.loads(text)


def test_resume_flag_continues_and_rejects_changes(tmp_path, capsys):
    assert main(["train", *SMALL, "--out", str(tmp_path), "-q"]) == 0
    run = _run_dir(capsys.readouterr().out)
    assert main(["train", "--resume", str(run), "--epochs", "30", "-q"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs_trained"] == 30 and summary["resumed_from_epoch"] == 20
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--lr", "0.5"]) == 2
    assert "--resume continues a run" in capsys.readouterr().err


@pytest.mark.slow
def test_report_eval_predict_commands(tmp_path, capsys):
    runs = []
    for lr in ("0.05", "0.2"):
        assert main(["train", "--data", "moons", "--epochs", "10", "--eval-every", "5",
                     "--lr", lr, "--out", str(tmp_path), "-q",
                     "--set", "data.options.n=200"]) == 0
        runs.append(_run_dir(capsys.readouterr().out))
    html = tmp_path / "compare.html"
    assert main(["report", *map(str, runs), "-o", str(html)]) == 0
    assert html.is_file() and "Comparison" in html.read_text()
    md = tmp_path / "compare.md"
    assert main(["report", *map(str, runs), "-o", str(md)]) == 0
    assert "| run |" in md.read_text()
    capsys.readouterr()
    assert main(["eval", str(runs[0]), "--split", "test"]) == 0
    assert "accuracy=" in capsys.readouterr().out
    points = tmp_path / "points.csv"
    points.write_text("a,b\n0,0\n1,1\n")
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(runs[0] / "model.npz"), str(points), "-o", str(pred)]) == 0
    assert pred.read_text().splitlines()[0] == "a,b,prediction,p_0,p_1"


@pytest.mark.slow
def test_main_job_command_runs_offline_as_a_subprocess(tmp_path):
    """The README's main job, on a fresh process with downloads forbidden."""
    env = {**os.environ, "MPLBACKEND": "Agg", "NEURALAB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "neuralab", "train", "--data", "moons",
                           "--model", "mlp", "--out", str(tmp_path / "runs")],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    run = Path(proc.stdout.strip().splitlines()[-1])
    summary = json.loads((run / "summary.json").read_text())
    from neuralab.models import MLPClassifier

    assert summary["status"] == "finished"
    assert summary["epochs_trained"] == MLPClassifier().epochs  # the table's default
    assert summary["final"]["test_acc"] > 0.8


# -- help, errors and the lines a run ends with (issue 9) -----------------------------------
@pytest.mark.parametrize("columns", [80, 100])
@pytest.mark.parametrize("command", [["train"], ["study"], ["report"], ["data", "show"]])
def test_help_shows_whole_option_names_and_plain_switches(command, columns, capsys,
                                                          monkeypatch):
    import typer

    from neuralab.cli import _load_commands, app

    monkeypatch.setenv("COLUMNS", str(columns))
    assert main([*command, "--help"]) == 0
    text = capsys.readouterr().out
    assert max(len(line) for line in text.splitlines()) <= columns
    assert "<bool>" not in text and "…" not in text and "{" not in text.splitlines()[0]
    _load_commands()
    cmd = typer.main.get_command(app)
    for name in command:
        cmd = cmd.commands[name]
    for param in cmd.params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("-"):
                assert re.search(rf"(^|[ ,]){re.escape(opt)}([ ,]|$)", text, re.M), opt
        if getattr(param, "is_flag", False):  # a plain switch: its name, then its help
            long = next(o for o in param.opts if o.startswith("--"))
            assert re.search(rf"^\s+(-\w, )?{re.escape(long)}\s{{2,}}\S", text, re.M), long


def test_usage_lines_name_arguments_plainly(capsys):
    assert main(["report", "--help"]) == 0
    assert capsys.readouterr().out.startswith("Usage: neuralab report [OPTIONS] RUN...\n")
    assert main(["train", "--help"]) == 0
    assert capsys.readouterr().out.startswith("Usage: neuralab train [OPTIONS] [CONFIG]\n")


@pytest.mark.parametrize("args, message", [
    (["train", "--quick", "true"], "--quick is a switch and takes no value"),
    (["train", "--data", "moons", "-q", "no"], "-q is a switch and takes no value"),
    (["train", "--model", "perceptron", "--hidden", "20"],
     "--hidden does not apply to --model perceptron"),
    (["train", "--lr", "-1"], "--lr -1.0 is not allowed"),
    (["train", "--model", "perceptron", "--momentum", "0.9"], "--momentum 0.9 does not apply"),
    (["train", "--epochs", "abc"], "--epochs 'abc' is not an integer"),
    (["train", "--max_steps=1e3"], "--max_steps '1e3' is not an integer"),
    (["train", "--data", "csv"], "give its path (--path FILE"),
    (["train", "--resume", "runs/x", "--data", "moons"], "--data cannot be given with it"),
    (["eval", "runs/x", "--data", "mons"], "unknown dataset 'mons' (did you mean 'moons'?)"),
    (["tran", "--data", "moons"], "unknown command 'tran' (did you mean 'train'?)"),
])
def test_errors_name_what_the_user_typed(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("neuralab: error: ") and message in err, err
    assert err.count("\n") == 1 and "model.hidden" not in err and "optim.lr" not in err
    assert not list(tmp_path.iterdir())  # nothing ran


def test_a_missing_data_folder_quotes_the_whole_command(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(ROOT / "examples/jhu/hw2-ovr-logistic.toml"), "--offline"]) == 2
    err = capsys.readouterr().err
    assert "`neuralab data get mnist --root data/mnist`" in err, err


@pytest.mark.slow
def test_a_run_prints_its_metrics_once_and_ends_with_where_things_are(tmp_path, capsys):
    small = [a for a in SMALL if a != "--no-plots"]
    assert main(["train", *small, "--out", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr()
    (run,) = (tmp_path / "runs").iterdir()
    err = out.err.splitlines()
    assert err[-2:][0] == "drawing plots…" and err[-1].startswith("finished: train_acc=")
    assert "train_acc" not in out.out  # the final metrics once: the last progress line
    lines = out.out.splitlines()
    figures = json.loads((run / "summary.json").read_text())["plots"]
    report, hint = f"report:  {run / 'report.html'}", "  (open it in a browser)"
    if len(report) + len(hint) <= shutil.get_terminal_size().columns:  # where it fits
        report += hint
    assert lines == [f"plots:   {run / 'plots'}/  ({len(figures)} figures)", report,
                     f"compare: neuralab report {tmp_path / 'runs'}/* -o compare.html",
                     str(run)]
    html = (run / "report.html").read_text()
    assert html.lower().startswith("<!doctype html>") and "data:image/png;base64" in html
