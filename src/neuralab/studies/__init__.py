"""Studies: a base config × a grid of settings × many seeds, and honest statistics over them.

``neuralab.studies.stats`` turns per-run results (one row per (cell, seed)) into tables:
success rates with Wilson intervals, bootstrap intervals of means / medians / IQMs,
Kaplan–Meier "epochs to converge", and pairwise comparisons with adjusted p-values.
It needs scipy and pandas, so nothing is imported here.
"""
