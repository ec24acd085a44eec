"""Reproductions of the seed reports' findings: a catalogue of entries, verdicts, a runner.

Each entry of :mod:`neuralab.reproduce.catalogue` names one finding of a course report (its
figure or sentence), states it as checkable claims, and carries the study (``[config]``,
as in ``examples/**/*.study.toml``) that measures it over many seeds. ``verdict`` sets
neuralab's figure beside the report's; ``runner`` runs entries into folders; ``exact``
holds the arithmetic checks (convolution sizes, constructed networks) that need no study.
Nothing heavy is imported here.
"""
