"""HTML and Markdown reports: self-contained, escaped, a comparison for several runs."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from neuralab.experiments.config import ConfigError
from neuralab.report import load_run, write_report
from neuralab.report.build import comparison_rows, run_labels, settings


def test_html_is_self_contained(two_runs, tmp_path):
    path = write_report(two_runs, tmp_path / "r.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>")
    srcs = re.findall(r'src="([^"]*)"', text)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "http://" not in text and "https://" not in text
    assert "<h2>Comparison</h2>" in text and "accuracy curves of every run" in text
    for run in two_runs:
        assert str(run) in text


def test_user_strings_are_escaped(two_runs, tmp_path):
    (two_runs[0] / "config.toml").write_text(
        (two_runs[0] / "config.toml").read_text() + "# <script>alert(1)</script>\n")
    text = write_report(two_runs[:1], tmp_path / "one.html", title="<i>t</i>").read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "&lt;i&gt;t&lt;/i&gt;" in text
    assert "<h2>Comparison</h2>" not in text  # one run: no comparison


def test_markdown_links_images_relative(two_runs, tmp_path):
    md = write_report(two_runs, tmp_path / "sub" / "r.md")
    text = md.read_text()
    assert text.startswith("# ") and "| run |" in text
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (md.parent / link).is_file(), link
    assert (md.parent / "r-accuracy.png").is_file()


def test_bad_output_and_folders(two_runs, tmp_path):
    with pytest.raises(ConfigError, match=r"\.html or \.md"):
        write_report(two_runs, tmp_path / "r.pdf")
    with pytest.raises(ConfigError, match="not a run folder"):
        write_report([tmp_path], tmp_path / "r.html")


def test_comparison_leads_with_the_settings_that_differ(two_runs, tmp_path):
    runs = [load_run(p) for p in two_runs]
    differ, same = settings(runs)
    assert differ == ["optim.lr"]  # the runs differ in lr (and name, which has its column)
    assert same["model.hidden"] == [8] and "output.name" not in same
    header, rows = comparison_rows(runs)
    assert header[:2] == ["run", "optim.lr"]
    assert [r[1] for r in rows] == ["0.05", "0.3"]  # as written in a config, not 0.0500
    text = write_report(two_runs, tmp_path / "r.html").read_text()
    assert '<th class="differs">optim.<wbr>lr</th>' in text
    assert "Settings every run shares" in text


def test_duplicate_run_names_are_told_apart(two_runs, tmp_path):
    base = load_run(two_runs[0])
    twins = [replace(base, path=tmp_path / "a" / f"{base.name}-20261201-101500"),
             replace(base, path=tmp_path / "a" / f"{base.name}-20261201-101502"),
             replace(base, path=tmp_path / "b" / f"{base.name}-20261201-101502"),
             load_run(two_runs[1])]
    labels = run_labels(twins)
    assert len(set(labels)) == 4 and labels[3] == "fast"
    assert labels[0] == "slow (20261201-101500)"
    assert labels[1].startswith("slow (a/") and labels[2].startswith("slow (b/")


def test_boundary_and_curves_come_first(two_runs, tmp_path):
    text = write_report(two_runs[:1], tmp_path / "one.html").read_text()
    captions = re.findall(r"<figcaption>([^<]+)</figcaption>", text)
    assert captions[:2] == ["Decision boundary", "Loss and accuracy curves"]
    assert text.index("<h3>Plots</h3>") < text.index("<h3>Summary</h3>")
    md = write_report(two_runs[:1], tmp_path / "one.md").read_text()
    assert md.index("decision_boundary.png") < md.index("curves.png") < md.index("| status")
