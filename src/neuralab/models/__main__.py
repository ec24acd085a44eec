"""``python -m neuralab.models > docs/hyperparameters.md``: the hyper-parameter table as
Markdown (run as the package, so that ``neuralab.models.hyperparams`` is imported once)."""

from neuralab.models.hyperparams import markdown_table

print(markdown_table(), end="")
