"""The HTML report opens in headless Chromium with every image loaded, no console errors."""

from __future__ import annotations

import pytest

# ``chromium`` (one headless browser per module; skips without Chromium or Playwright) is a
# fixture of conftest.py


@pytest.mark.browser
def test_report_renders_in_chromium(chromium, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    from neuralab.experiments import parse_config, run_experiment
    from neuralab.report import write_report

    runs = []
    for lr in (0.05, 0.3):
        cfg = parse_config({"data": {"options": {"n": 200}}, "model": {"hidden": [8]},
                            "optim": {"lr": lr}, "train": {"epochs": 20, "eval_every": 5},
                            "output": {"dir": str(tmp_path / "runs")}})
        runs.append(run_experiment(cfg, quiet=True).run_dir)
    report = write_report(runs, tmp_path / "report.html")

    errors: list[str] = []
    page = chromium.new_page()
    try:
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
        page.goto(report.resolve().as_uri(), wait_until="load")
        images = page.evaluate(
            "() => Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
        title = page.title()
    finally:
        page.close()
    assert len(images) >= 10  # two runs' plots plus the overlaid curves
    assert all(done and width > 0 for done, width in images), images
    assert not errors, errors
    assert title.startswith("neuralab report")


@pytest.mark.browser
@pytest.mark.slow
def test_a_twelve_run_comparison_fits_and_no_legend_covers_a_plot(chromium, tmp_path,
                                                                  monkeypatch):
    """Issue 9's bar: 12 runs, two of them with one name; the table fits 1400 px, every run
    is told apart, and the curves' legends sit off the axes."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    from neuralab.experiments import parse_config, run_experiment
    from neuralab.report import load_run, write_report
    from neuralab.report.build import comparison_figures
    from neuralab.viz import legend_overlaps

    runs = []
    for i in range(12):
        batch = (16, 32, "full")[i % 3]
        name = "moons-mlp" if i < 2 else f"moons-mlp-lr{0.05 * (i + 1):.2f}-batch-{batch}"
        cfg = parse_config({"data": {"options": {"n": 120}}, "model": {"hidden": [6]},
                            "optim": {"lr": 0.05 * (i + 1)},
                            "train": {"epochs": 10, "eval_every": 2, "batch_size": batch},
                            "output": {"dir": str(tmp_path / "runs"), "name": name,
                                       "plots": i == 0}})
        runs.append(run_experiment(cfg, quiet=True).run_dir)
    figures = comparison_figures([load_run(r) for r in runs])
    assert set(figures) == {"acc", "loss"}
    for metric, fig in figures.items():
        assert legend_overlaps(fig) == [], metric
        assert sum(ax.get_visible() for ax in fig.axes) == 12  # one panel per run
    report = write_report(runs, tmp_path / "compare.html")

    errors: list[str] = []
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(report.resolve().as_uri(), wait_until="load")
        table = page.evaluate("""() => {
            const t = document.querySelector('table.compare');
            const r = t.getBoundingClientRect();
            return {right: r.right, width: r.width,
                    page: document.documentElement.scrollWidth,
                    head: Array.from(t.querySelectorAll('th')).map(h => h.textContent),
                    runs: Array.from(t.querySelectorAll('tbody tr td:first-child'))
                               .map(d => d.textContent)};
        }""")
    finally:
        page.close()
    assert not errors, errors
    assert table["right"] <= 1400 and table["page"] <= 1400, table  # no horizontal scroll
    assert table["head"][:3] == ["run", "optim.lr", "train.batch_size"]  # what differs first
    assert len(set(table["runs"])) == 12  # the two moons-mlp runs are told apart
    assert sum(r.startswith("moons-mlp (") for r in table["runs"]) == 2
