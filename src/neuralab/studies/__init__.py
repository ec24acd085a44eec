"""Studies: a base config × a grid of settings × many seeds, and honest statistics over them.

``from neuralab.studies import Study`` — a study (:mod:`neuralab.studies.runner`): cells ×
seeds trained as vectorized ensembles, resumable, in-process or on Dask workers; its
``run()`` gives a :class:`StudyResult` (``runs``, ``table()``, ``compare()``), and
``load_study(folder)`` gives it again from a finished study folder.
``neuralab.studies.stats`` turns per-run results (one row per (cell, seed)) into tables:
success rates with Wilson intervals, bootstrap intervals of means / medians / IQMs,
Kaplan–Meier "epochs to converge", and pairwise comparisons with adjusted p-values.
Both are imported on first use (the statistics need scipy and pandas).
"""

from __future__ import annotations

from typing import Any

_RUNNER = ("Study", "StudyInterrupted", "StudyResult", "load_study", "resume_study")


def __getattr__(name: str) -> Any:
    if name in _RUNNER:
        from neuralab.studies import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'neuralab.studies' has no attribute {name!r}")


__all__ = list(_RUNNER)
