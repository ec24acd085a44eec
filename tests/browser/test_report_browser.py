"""The HTML report opens in headless Chromium with every image loaded, no console errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.browser
def test_report_renders_in_chromium(tmp_path, monkeypatch):
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("chromium is not installed (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
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
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.goto(report.resolve().as_uri(), wait_until="load")
            images = page.evaluate(
                "() => Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
            title = page.title()
        finally:
            browser.close()
    assert len(images) >= 10  # two runs' plots plus the overlaid curves
    assert all(done and width > 0 for done, width in images), images
    assert not errors, errors
    assert title.startswith("neuralab report")
