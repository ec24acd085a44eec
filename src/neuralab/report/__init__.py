"""Reports of runs: one self-contained HTML file (images embedded) or Markdown.

>>> from neuralab.report import write_report
>>> write_report(["runs/a", "runs/b"], "compare.html")     # doctest: +SKIP
"""

from __future__ import annotations

from neuralab.report.build import html_report, markdown_report, write_report
from neuralab.report.runs import RunInfo, load_run

__all__ = ["RunInfo", "html_report", "load_run", "markdown_report", "write_report"]
