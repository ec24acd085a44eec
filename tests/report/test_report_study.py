"""The report of a study folder: cells with their intervals, comparisons, plots, escaping,
no external resource, and a ValueError naming the file for anything malformed."""

from __future__ import annotations

import base64
import html
import itertools
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

pytest.importorskip("matplotlib")

from neuralab.report.study import (
    fmt_difference,
    fmt_epochs,
    fmt_interval,
    write_study_plots,
    write_study_report,
)
from neuralab.studies import stats as S

HOSTILE = "<script>alert(1)</script>"
KEYS = ("model.activation", "optim.lr")
CELLS = (("relu", 0.1), ("relu", 0.2), (HOSTILE, 0.1), (HOSTILE, 0.2))
SUCCESSES = (10, 25, 40, 48)  # of SEEDS: known success counts, so the intervals are known
SEEDS = 50
BUDGET = 40


def make_study(folder: Path, *, cells=CELLS, keys=KEYS, successes=SUCCESSES, seeds=SEEDS,
               status: str = "finished", seed: int = 0) -> Path:
    """A study folder as the runner writes it, with exactly successes[c] converged seeds."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ep = np.arange(1, BUDGET + 1)
    rows, acc_curves = [], []
    for c, values in enumerate(cells):
        converged = rng.permutation(np.arange(seeds) < successes[c % len(successes)])
        for i, conv in enumerate(converged):
            stop = int(rng.integers(2, BUDGET + 1)) if conv else BUDGET
            acc = np.minimum(0.5 + ep / (2 * stop), 1.0 if conv else 0.97)
            curve = acc.astype(np.float32)
            curve[stop:] = np.nan
            acc_curves.append(curve)
            rows.append({"cell": c, **dict(zip(keys, values, strict=True)), "seed_index": i,
                         "seed": int(rng.integers(2**32)), "converged": bool(conv),
                         "epoch_converged": float(stop) if conv else np.nan,
                         "epochs_budget": BUDGET, "diverged": False, "epochs": stop,
                         "final_train_loss": float(rng.gamma(2, 0.05)),
                         "final_train_acc": float(acc[stop - 1]),
                         "final_test_acc": float(rng.normal(0.8 + 0.02 * c, 0.03)),
                         "wall_s": 0.01})
    pd.DataFrame(rows).to_csv(folder / "runs.csv", index=False)
    np.savez_compressed(folder / "curves.npz", epoch=ep, train_acc=np.stack(acc_curves))
    (folder / "summary.json").write_text(json.dumps({
        "name": f"demo {HOSTILE}", "status": status, "n_cells": len(cells),
        "n_runs": len(rows) + (10 if status != "finished" else 0), "runs_done": len(rows),
        "target": {"train_acc": 1.0}, "seeds": seeds, "wall_seconds": 2.5,
        "backend": "in-process"}))
    grid = {k: list(dict.fromkeys(v[j] for v in cells)) for j, k in enumerate(keys)}
    (folder / "study.toml").write_text(
        f'[train]\nepochs = {BUDGET}\n\n[study]\nname = "demo"\nseeds = {seeds}\nseed = 7\n'
        'target = { train_acc = 1.0 }\n\n[study.grid]\n'
        + "".join(f'"{k}" = {json.dumps(v)}\n' for k, v in grid.items()))
    return folder


def text_of(path: Path) -> str:
    """The report's text with no-break spaces read as spaces (HTML keeps "73.0 %" together)."""
    return path.read_text(encoding="utf-8").replace("\u00a0", " ")


def wilson_text(k: int, n: int) -> str:
    ci = stats.binomtest(k, n).proportion_ci(method="wilson")
    return f"{100 * k / n:.1f} % [{100 * ci.low:.1f}, {100 * ci.high:.1f}]"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_study(tmp_path_factory.mktemp("study") / "demo-20261201-101500")


PLOTS = ("success_rates", "convergence", "distribution_final_test_acc",
         "distribution_final_train_acc", "curve_train")  # no test curves in this study


@pytest.fixture(scope="module")
def plotted(tmp_path_factory, folder) -> Path:
    """The study with a distinct small PNG per plot in plots/ (drawing them takes seconds;
    tests/viz checks the real figures)."""
    from matplotlib.image import imsave

    copy = tmp_path_factory.mktemp("plotted") / "demo"
    shutil.copytree(folder, copy)
    (copy / "plots").mkdir()
    for i, name in enumerate(PLOTS):
        imsave(copy / "plots" / f"{name}.png", np.full((4, 4 + i), i / 5), cmap="gray")
    return copy


@pytest.fixture(scope="module")
def page(tmp_path_factory, folder) -> str:
    out = write_study_report(folder, tmp_path_factory.mktemp("out") / "report.html",
                             plots=False)
    return text_of(out)


def test_each_cell_has_its_label_and_wilson_interval(page):
    escaped = html.escape(HOSTILE)
    for (activation, lr), k in zip(CELLS, SUCCESSES, strict=True):
        label = html.escape(activation)
        assert re.search(rf"{re.escape(label)}</span></td><td class=\"set\"><span class=\"ln\">"
                         rf"{lr}</span>", page), (activation, lr)
        assert f"{wilson_text(k, SEEDS)}</span><span class=\"ln\">({k}/{SEEDS})" in page
    assert escaped in page
    assert "<th>model.<wbr>activation</th><th>optim.<wbr>lr</th><th>runs</th>" in page


def test_the_median_epochs_and_metrics_come_with_intervals(folder, page):
    runs = pd.read_csv(folder / "runs.csv")
    cells = S.cell_table(runs, metrics=["final_test_acc", "final_train_acc"])
    for _, row in cells.iterrows():
        assert fmt_epochs(row["epochs_median"], row["epochs_median_low"],
                          row["epochs_median_high"]) in page
        mean = fmt_interval(row["final_test_acc_mean"], row["final_test_acc_mean_low"],
                            row["final_test_acc_mean_high"], percent=True)
        assert f"mean {mean}" in page
    assert cells["epochs_median"].iloc[0] == np.inf  # 10 of 50 converged: no median
    assert "not reached" in page
    assert "final test acc: mean / median / IQM [95 % CI]" in page


def test_comparisons_show_differences_probabilities_and_adjusted_p(folder, page):
    runs = pd.read_csv(folder / "runs.csv")
    for key in KEYS:
        table = S.compare(runs, key, metrics=["final_test_acc", "final_train_acc"])
        assert f"<h3>{key}</h3>" in page
        for _, row in table.iterrows():
            diff = fmt_difference(row["rate_diff"], row["rate_diff_low"],
                                  row["rate_diff_high"], percent=True)
            p = row["rate_p_adj"]
            p_text = html.escape("< 0.001" if p < 0.001 else f"{p:.2g}")
            assert f"{diff}</span><span class=\"ln\">exact test p = {p_text}" in page
            assert f"P(a &gt; b) = {row['final_test_acc_poi']:.2f}" in page
    assert (SUCCESSES[0] - SUCCESSES[1]) / SEEDS == pytest.approx(-0.3)
    assert "-30.0 pp [" in page  # relu at lr 0.1 vs 0.2: 10/50 vs 25/50


def test_what_was_varied_and_the_rerun_command(folder, page):
    assert "<b>model.activation</b>: relu, " + html.escape(HOSTILE) in page
    assert f"{SEEDS} per cell; study seed 7" in page
    assert f"train_acc ≥ 1.0 within {BUDGET} epochs" in page
    assert f"neuralab study {folder}/study.toml" in page
    assert "--resume" not in page  # finished
    assert "<title>Study: demo &lt;script&gt;alert(1)&lt;/script&gt;</title>" in page


def test_nothing_hostile_and_nothing_external(page):
    assert "<script" not in page.lower()
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page, re.I)
    for ref in re.findall(r"""(?:src|href|action)\s*=\s*["']?([^"'\s>]*)""", page, re.I):
        assert ref.startswith("data:"), ref
    assert ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "img-src data:; style-src 'unsafe-inline'\">") in page


def test_plots_are_embedded_from_the_plots_folder(plotted, tmp_path):
    page = text_of(write_study_report(plotted, tmp_path / "r.html"))
    pngs = sorted((plotted / "plots").glob("*.png"))
    assert len(pngs) == len(PLOTS)
    for png in pngs:
        assert base64.b64encode(png.read_bytes()).decode() in page
    assert "Success rate per cell (Wilson interval)" in page


def test_markdown_report_links_the_plots_and_keeps_the_table(plotted, tmp_path):
    out = write_study_report(plotted, tmp_path / "notes" / "r.md")
    text = out.read_text(encoding="utf-8")
    assert f"| relu | 0.1 | 50 | {wilson_text(SUCCESSES[0], SEEDS)}<br>(10/50) |" in text
    assert "<script" not in text and "| &lt;script&gt;alert(1)&lt;/script&gt; | 0.2 |" in text
    assert "| model.activation | optim.lr | runs |" in text
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", text):
        assert (out.parent / link).resolve().is_file(), link
    assert "(../../" in text or "plots/" in text
    assert f"neuralab study {plotted}/study.toml" in text


@pytest.mark.slow
def test_plots_are_drawn_when_the_folder_has_none(folder, tmp_path):
    out = write_study_report(folder, tmp_path / "r.md")
    images = sorted(tmp_path.glob("r-*.png"))
    assert [p.stem for p in images] == sorted(f"r-{n}" for n in PLOTS)
    assert all(p.stat().st_size > 1000 for p in images)
    assert all(f"]({p.name})" in out.read_text() for p in images)
    assert not (folder / "plots").exists()  # a report does not write into the study


@pytest.mark.slow
def test_plots_older_than_the_runs_are_drawn_afresh(tmp_path):
    folder = make_study(tmp_path / "s", seeds=5, successes=(1, 2, 3, 4))
    paths = write_study_plots(folder, formats=("png",))
    assert sorted(p.stem for p in paths) == sorted(PLOTS)
    now = (folder / "runs.csv").stat().st_mtime
    stale, fresh = folder / "plots" / "convergence.png", folder / "plots" / "success_rates.png"
    os.utime(stale, (now - 60, now - 60))  # drawn before the last runs were added
    os.utime(fresh, (now + 1, now + 1))
    page = text_of(write_study_report(folder, tmp_path / "r.html"))
    assert base64.b64encode(stale.read_bytes()).decode() not in page
    assert base64.b64encode(fresh.read_bytes()).decode() in page
    assert page.count("data:image/png;base64,") == len(PLOTS)


def test_the_study_tables_are_reused_when_they_match_the_runs(tmp_path):
    folder = make_study(tmp_path / "s", seeds=12, successes=(3, 6, 9, 12))
    runs = pd.read_csv(folder / "runs.csv")
    cells = S.cell_table(runs, metrics=["final_test_acc", "final_train_acc"])
    cells.loc[0, "success_rate"] = 0.123  # a value only the stored table has
    cells.to_csv(folder / "cells.csv", index=False)
    page = text_of(write_study_report(folder, tmp_path / "a.html", plots=False))
    assert "12.3 % [" in page
    cells.loc[0, "n"] = 11  # describes other runs (e.g. written before the last chunk)
    cells.to_csv(folder / "cells.csv", index=False)
    page = text_of(write_study_report(folder, tmp_path / "b.html", plots=False))
    assert "12.3 % [" not in page and wilson_text(3, 12) in page


def test_an_unfinished_study_says_so_and_how_to_resume(tmp_path):
    folder = make_study(tmp_path / "s", seeds=6, successes=(1, 2, 3, 4), status="running")
    page = text_of(write_study_report(folder, tmp_path / "r.html", plots=False))
    assert "This study is running" in page and "24 of 34 runs done" in page
    assert f"neuralab study --resume {folder}" in page


def test_malformed_folders_raise_a_value_error_naming_the_file(tmp_path):
    good = make_study(tmp_path / "good", seeds=4, successes=(1, 2, 3, 4))
    out = tmp_path / "r.html"
    with pytest.raises(ValueError, match=r"\.html or \.md"):
        write_study_report(good, tmp_path / "r.pdf")
    with pytest.raises(ValueError, match="not a study folder"):
        write_study_report(tmp_path, out)

    cases = {
        "runs.csv": [b"\x00\xff\xfe", b"cell,seed\n", b"cell,seed,final_test_acc\n0,1,high\n"],
        "summary.json": [b"{\"name\": ", b"[]", b"\xff\xfe"],
        "study.toml": [b"[study\nseeds = ", b"\xff"],
        "cells.csv": [b'model.activation,n\n"unclosed'],
    }
    for name, contents in cases.items():
        for data in contents:
            folder = tmp_path / "bad"
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(good, folder)
            (folder / name).write_bytes(data)
            with pytest.raises(ValueError, match=re.escape(str(folder / name))):
                write_study_report(folder, out)
    assert not out.exists()  # nothing written


def test_links_out_of_the_folder_are_refused(tmp_path):
    folder = make_study(tmp_path / "s", seeds=4, successes=(1, 2, 3, 4))
    secret = tmp_path / "secret.json"
    secret.write_text('{"name": "secret"}')
    (folder / "summary.json").unlink()
    (folder / "summary.json").symlink_to(secret)
    with pytest.raises(ValueError, match="outside the study folder"):
        write_study_report(folder, tmp_path / "r.html", plots=False)
    (folder / "summary.json").unlink()
    (folder / "plots").mkdir()
    (folder / "plots" / "success_rates.png").symlink_to(secret)
    with pytest.raises(ValueError, match="outside the study folder"):
        write_study_report(folder, tmp_path / "r.html")


def test_number_formats():
    assert fmt_interval(0.73, 0.665, 0.787, percent=True) == "73.0 % [66.5, 78.7]"
    assert fmt_interval(0.0312, np.nan, np.nan) == "0.0312"
    assert fmt_interval(np.nan, 0.1, 0.2) == "–"
    assert fmt_difference(-0.07, -0.152, 0.013, percent=True) == "-7.0 pp [-15.2, +1.3]"
    assert fmt_epochs(412.0, 380.0, np.inf) == "412 [380, not reached]"
    assert fmt_epochs(np.inf, np.inf, np.inf) == "not reached"


@pytest.mark.slow
@pytest.mark.browser
def test_twelve_long_cells_fit_1400_pixels_in_chromium(tmp_path):
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists() and not shutil.which("chromium"):
        pytest.skip("chromium is not installed (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    long = ("relu", "leaky_relu", "an_activation_with_a_very_long_name_and_no_spaces" * 2)
    cells = list(itertools.product(long, (0.01, 0.1), ("sgd_with_nesterov_momentum", "adam")))
    folder = make_study(tmp_path / "s", cells=cells, keys=(*KEYS, "optim.name"), seeds=8,
                        successes=tuple(range(1, 9)))
    report = write_study_report(folder, tmp_path / "r.html")
    errors: list[str] = []
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking"]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=args)
        try:
            pg = browser.new_page(viewport={"width": 1400, "height": 900})
            pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            pg.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            pg.goto(report.resolve().as_uri(), wait_until="load")
            widths = pg.evaluate("() => [document.documentElement.scrollWidth, ...Array.from("
                                 "document.querySelectorAll('table')).map(t => "
                                 "t.getBoundingClientRect().right)]")
            images = pg.evaluate("() => Array.from(document.images).map(i => i.naturalWidth)")
        finally:
            browser.close()
    assert max(widths) <= 1400, widths
    assert len(widths) == 1 + 1 + 3  # the cell table and one comparison table per key
    assert len(images) == len(PLOTS) and all(w > 0 for w in images)
    assert not errors, errors


def test_a_zero_width_rate_interval_is_marked_and_explained(tmp_path):
    """2/2 seeds against 0/2: every bootstrap resample gives +100 pp, and the report showed
    "+100.0 pp [+100.0, +100.0]" beside an exact test of p = 0.5 as if the difference were
    certain. The percentile fallback is marked (†) with a note pointing to the Wilson
    intervals, and a log-rank test that has nothing to test says why."""
    folder = make_study(tmp_path / "s", keys=("model.activation",),
                        cells=(("relu",), ("tanh",), ("sigmoid",)), successes=(2, 0, 0),
                        seeds=2)
    runs = pd.read_csv(folder / "runs.csv")
    table = S.compare(runs, "model.activation", metrics=["final_test_acc"])
    first = table.iloc[0]
    assert first["rate_diff_method"] == "percentile"
    assert first["rate_diff_low"] == first["rate_diff_high"] == first["rate_diff"] == 1.0
    text = text_of(write_study_report(folder, tmp_path / "r.md", plots=False))
    assert "+100.0 pp [+100.0, +100.0] †" in text
    assert "† percentile bootstrap interval: every resample gave" in text
    assert "Wilson intervals" in text.split("### model.activation")[1]
    assert "log-rank (epochs): no seed reached the target" in text  # tanh vs sigmoid
    assert "log-rank (epochs) p = –" not in text


def test_a_single_run_cell_says_why_it_has_no_interval(tmp_path):
    """With seeds = 1 the means stood alone ("mean 92.5 %") with no word on the missing
    interval; the table now says why."""
    folder = make_study(tmp_path / "s", keys=("model.activation",),
                        cells=(("relu",), ("tanh",)), successes=(1, 0), seeds=1)
    text = text_of(write_study_report(folder, tmp_path / "r.md", plots=False))
    cells = text.split("## Cells")[1].split("## Comparisons")[0]
    assert "single run has no bootstrap interval" in cells
    many = text_of(write_study_report(make_study(tmp_path / "m"), tmp_path / "m.md",
                                      plots=False))
    assert "single run" not in many


def test_a_study_of_zip_groups_alone_lists_each_key_once(tmp_path):
    """The Leaky ReLU study has no [study.grid], only a zip group: its keys were listed
    twice, once with the values found in runs.csv as if they were a grid."""
    cells = [("relu", 0.01), ("leaky_relu", 0.01), ("leaky_relu", 0.05)]
    keys = ("model.activation", "model.negative_slope")
    folder = make_study(tmp_path / "s", cells=cells, keys=keys, successes=(3, 4, 5))
    text = (folder / "study.toml").read_text().split("[study.grid]")[0]
    (folder / "study.toml").write_text(
        text + 'zip = [{"model.activation" = ["relu", "leaky_relu", "leaky_relu"], '
        '"model.negative_slope" = [0.01, 0.01, 0.05]}]\n')
    md = write_study_report(folder, tmp_path / "r.md", plots=False).read_text()
    varied = md.split("## What was varied")[1].split("##")[0]
    assert varied.count("model.activation") == 1, varied
    assert "**model.activation (zipped)**: relu, leaky_relu, leaky_relu" in varied
