"""HTML and Markdown reports: self-contained, escaped, a comparison for several runs."""

from __future__ import annotations

import re

import pytest

from neuralab.experiments.config import ConfigError
from neuralab.report import write_report


def test_html_is_self_contained(two_runs, tmp_path):
    path = write_report(two_runs, tmp_path / "r.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>")
    srcs = re.findall(r'src="([^"]*)"', text)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "http://" not in text and "https://" not in text
    assert "<h2>Comparison</h2>" in text and "overlaid accuracy curves" in text
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
