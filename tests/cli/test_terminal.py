"""``neuralab train`` in a terminal: the progress line fits the width, the last lines say
where things are, and start-up is lazy.

The end-to-end tests run the command in a real pseudo-terminal (``os.openpty`` with an
80-column window size and ``COLUMNS=80``), then replay what it wrote: every line a terminal
would show is at most 80 columns and one of them holds the bar, ``epoch 5/5`` and the ETA.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from neuralab.experiments.progress import Reporter, bar_fields, fitting_progress

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
BAR = "━"
LOGS = {"evaluated": True, "train_loss": 0.41312, "train_acc": 0.82667,
        "test_loss": 0.42161, "test_acc": 0.785}


def screen_lines(raw: str) -> list[str]:
    """What a terminal shows, line by line: escape codes removed, each carriage return
    starting the line over (a redraw), so every string is one line as drawn."""
    return [seg for line in ANSI.sub("", raw).split("\n") for seg in line.split("\r") if seg]


def run_in_pty(args: list[str], cwd: Path, columns: int = 80, timeout: float = 120) -> str:
    """Run ``python -m neuralab ARGS`` with a pseudo-terminal as its stdin, stdout and
    stderr, ``columns`` wide; returns everything it wrote."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "24", "TERM": "xterm-256color",
           "MPLBACKEND": "Agg", "NEURALAB_OFFLINE": "1"}
    for key in ("NO_COLOR", "FORCE_COLOR", "TERMINAL_WIDTH"):
        env.pop(key, None)
    proc = subprocess.Popen([sys.executable, "-m", "neuralab", *args], stdin=slave,
                            stdout=slave, stderr=slave, cwd=cwd, env=env, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    out = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, out
    return out


def bar_line(lines: list[str]) -> str:
    """The last progress line drawn (the finished bar)."""
    found = [s for s in lines if "ETA" in s and re.search(r"epoch\s+\d+/\d+", s)]
    assert found, lines
    return found[-1]


# -- the progress line, drawn in process at many widths ------------------------------------
def render_bar(width: int, label: str = "moons-mlp", total: int = 1500) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)
    progress = fitting_progress(console)
    task = progress.add_task(label, total=total, completed=0, **bar_fields({}))
    progress.update(task, completed=total // 3, **bar_fields(LOGS))
    console.print(progress.make_tasks_table(progress.tasks))
    lines = screen_lines(console.file.getvalue())
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("width", [44, 52, 60, 72, 80, 100, 120, 160])
def test_bar_fits_the_width_and_keeps_epoch_loss_acc_eta(width):
    line = render_bar(width)
    assert cell_len(line) <= width, line
    for part in (" 500/1500", "loss 0.4131", "acc 0.8267", "ETA -:--:--"):
        assert part in line, (width, line)
    assert ("epoch  500/1500" in line) == (width >= 52)


def test_bar_drops_fields_in_order_as_the_terminal_narrows():
    wide, eighty, narrow = render_bar(160), render_bar(80), render_bar(56)
    assert "moons-mlp" in wide and "test_acc 0.7850" in wide and BAR in wide
    assert re.search(r"\d:\d\d:\d\d ETA", wide)  # the elapsed time, then the ETA
    # at 80 columns the name and the elapsed time go first; the bar and test_acc stay
    assert BAR in eighty and "test_acc 0.7850" in eighty and "moons-mlp" not in eighty
    assert not re.search(r"\d:\d\d:\d\d ETA", eighty)
    assert BAR not in narrow and "test_acc" not in narrow and "epoch" in narrow


def test_bar_is_wider_on_a_wider_terminal_up_to_a_limit():
    widths = [render_bar(w).count(BAR) for w in (80, 100, 200, 300)]
    assert widths[0] < widths[1] <= widths[2] == widths[3]


def test_long_run_names_are_cut():
    line = render_bar(160, label="x" * 60)
    assert cell_len(line) <= 160 and "x" * 60 not in line


def test_regression_bar_shows_losses():
    fields = bar_fields({"evaluated": True, "train_loss": 1234.5678, "val_loss": 0.5})
    assert fields == {"loss": "loss 1235", "acc": "", "held": "val_loss 0.5"}


def test_status_says_what_is_happening_in_plain_mode(capsys):
    logged: list[str] = []
    with Reporter("plain", logged.append).status("drawing plots…"):
        pass
    assert capsys.readouterr().err == "drawing plots…\n" and logged == ["drawing plots…"]
    with Reporter("quiet", logged.append).status("drawing plots…"):
        pass
    assert capsys.readouterr().err == "" and logged == ["drawing plots…"] * 2


# -- the real command in a pseudo-terminal --------------------------------------------------
@pytest.mark.slow
def test_train_in_an_80_column_terminal(tmp_path):
    out = run_in_pty(["train", "--data", "moons", "--quick", "--out", "runs"], tmp_path)
    lines = screen_lines(out)
    assert max(cell_len(s) for s in lines) <= 80, lines
    line = bar_line(lines)
    assert BAR in line and "epoch 5/5" in line and "ETA" in line, line
    assert "loss" in line and "acc" in line
    assert any("drawing plots…" in s for s in lines)
    (run,) = (tmp_path / "runs").iterdir()
    tail = [s.rstrip() for s in lines[-4:]]
    figures = json.loads((run / "summary.json").read_text())["plots"]
    assert tail[0] == f"plots:   runs/{run.name}/plots/  ({len(figures)} figures)"
    assert tail[1] == f"report:  runs/{run.name}/report.html  (open it in a browser)"
    assert tail[2] == "compare: neuralab report runs/* -o compare.html"
    assert tail[3] == f"runs/{run.name}" and (run / "report.html").is_file()
    finals = [s for s in lines if "test_acc=" in s]
    assert len(finals) == 1 and finals[0].startswith("finished: train_acc=")


@pytest.mark.slow
def test_a_long_run_name_keeps_the_closing_lines_within_80_columns(tmp_path):
    """The report line's "(open it in a browser)" took a 30-character run name to 96
    columns; it is left out where it does not fit (the paths themselves are never cut)."""
    name = "moons-mlp-batch-size-16-lr-0.1"
    out = run_in_pty(["train", "--data", "moons", "--quick", "--out", "runs", "--name", name],
                     tmp_path)
    lines = screen_lines(out)
    assert max(cell_len(s) for s in lines) <= 80, lines
    (run,) = (tmp_path / "runs").iterdir()
    assert f"report:  runs/{run.name}/report.html" in [s.rstrip() for s in lines]


@pytest.mark.slow
def test_train_in_a_60_column_terminal_keeps_epoch_loss_acc_eta(tmp_path):
    out = run_in_pty(["train", "--data", "moons", "--quick", "--no-plots", "--out", "runs"],
                     tmp_path, columns=60)
    line = bar_line(screen_lines(out))
    assert cell_len(line) <= 60 and "epoch 5/5" in line and "ETA" in line
    assert "loss" in line and "acc" in line


@pytest.mark.parametrize("columns", [80, 60])
def test_study_table_fits_the_terminal_with_every_setting_whole(tmp_path, columns):
    """The issue's grid on the command line: six cells that differ in two keys. Every
    setting (``negative_slope=0.05``) is shown whole, one per line, and the table is no
    wider than the terminal (the interval columns wrap instead)."""
    root = Path(__file__).resolve().parents[2]
    out = run_in_pty(["study", str(root / "examples/cs324/000-mlp-bgd.toml"),
                      "--grid", "model.activation=relu,leaky_relu",
                      "--grid", "model.negative_slope=0.01,0.05,0.1", "--seeds", "2",
                      "--target", "train_acc=1.0", "--no-plots", "--out", "studies"],
                     tmp_path, columns=columns)
    lines = screen_lines(out)
    table = [s for s in lines if s[:1] in "┏┃┡│└"]
    # at 80 columns every line fits; at 60 the table does (a folder path may not)
    assert max(cell_len(s) for s in (lines if columns == 80 else table)) <= columns, lines
    rows = [s for s in table if s.startswith("│")]
    assert len(table) > len(rows) > 6 and "…" not in "".join(rows)
    if columns < 80:  # a narrow terminal folds long settings over two lines: all is there
        return
    for activation in ("relu", "leaky_relu"):
        assert sum(f"activation={activation} " in s for s in rows) == 3, rows
    for slope in ("0.01", "0.05", "0.1"):
        assert sum(f"negative_slope={slope} " in s for s in rows) == 2, rows


def test_data_list_fits_80_columns_with_every_name_whole(tmp_path):
    from neuralab.data import registry

    lines = screen_lines(run_in_pty(["data", "list"], tmp_path))
    assert max(cell_len(s) for s in lines) <= 80, lines
    firsts = {s.split()[0] for s in lines if s.strip()}
    assert set(registry.available()) <= firsts


# -- start-up ------------------------------------------------------------------------------
def imported_modules(*args: str) -> set[str]:
    code = ("import sys; from neuralab.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sys.modules), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "MPLBACKEND": "Agg"})
    return set(proc.stderr.split())


def test_help_imports_neither_the_engine_nor_rich():
    modules = imported_modules("--help")
    for heavy in ("numpy", "neuralab.models", "pydantic", "rich", "sklearn", "matplotlib"):
        assert heavy not in modules, heavy


def test_a_quick_run_imports_neither_scikit_learn_nor_matplotlib(tmp_path):
    modules = imported_modules("train", "--data", "moons", "--quick", "--no-plots", "-q",
                               "--out", str(tmp_path))
    assert "neuralab.models" in modules  # it did train
    for heavy in ("sklearn", "matplotlib", "pandas"):
        assert heavy not in modules, heavy
