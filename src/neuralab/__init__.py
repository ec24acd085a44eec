"""neuralab: neural networks built from scratch with NumPy, for learning, teaching and research.

Sub-packages load on first use (``from neuralab import nn, optim, models, data``), so importing
the engine never pulls in matplotlib, the web stack or scikit-learn.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
