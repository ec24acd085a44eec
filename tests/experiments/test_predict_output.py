"""``predict_file`` writes its CSV a block of rows at a time: the same bytes as the csv module
writing one row at a time, several times faster."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from neuralab.experiments import evaluate
from neuralab.models import MLPClassifier, MLPRegressor


def reference(header: list[str], X: np.ndarray, pred: np.ndarray,
              proba: np.ndarray | None) -> bytes:
    """What predict_file wrote before: the csv module, one row at a time."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for i in range(len(X)):
        row = [repr(float(v)) for v in X[i]] + [
            pred[i].item() if hasattr(pred[i], "item") else pred[i]]
        if proba is not None:
            row += [f"{p:.6g}" for p in proba[i]]
        w.writerow(row)
    return buf.getvalue().encode("utf-8")


class TextLabels:
    """A classifier whose labels need quoting in a CSV (a comma, a quote, a line break)."""

    classes_ = np.array(["a,b", 'say "hi"', "two\nlines", "é", ""], dtype=object)
    n_features_in_ = 2

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.arange(len(X)) % len(self.classes_)]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = np.abs(np.sin(X[:, :1] * np.arange(1, 6))) + 1e-9
        return p / p.sum(axis=1, keepdims=True)


def points_file(path: Path, X: np.ndarray) -> Path:
    path.write_text("a,b\n" + "".join(f"{x!r},{y!r}\n" for x, y in X.tolist()),
                    encoding="utf-8")
    return path


@pytest.fixture
def small_blocks(monkeypatch):  # several chunks and several text blocks per chunk
    monkeypatch.setattr(evaluate, "_CHUNK_ROWS", 70)
    monkeypatch.setattr(evaluate, "_TEXT_ROWS", 16)


def test_text_labels_are_written_as_the_csv_module_writes_them(tmp_path, monkeypatch,
                                                                 small_blocks) -> None:
    X = np.random.default_rng(0).normal(size=(203, 2)) * 10.0 ** np.arange(-3, 3)[:, None][
        np.arange(203) % 6]
    est = TextLabels()
    monkeypatch.setattr(evaluate, "load_model", lambda path: est)
    n = evaluate.predict_file(tmp_path / "model.npz", points_file(tmp_path / "p.csv", X),
                              tmp_path / "out.csv")
    assert n == 203
    header = ["a", "b", "prediction", *[f"p_{c}" for c in est.classes_.tolist()]]
    assert (tmp_path / "out.csv").read_bytes() == reference(
        header, X, est.predict(X), est.predict_proba(X))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_a_saved_model_predicts_the_same_bytes(tmp_path, kind, small_blocks) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 2))
    if kind == "classifier":
        est = MLPClassifier(hidden=(4,), epochs=2, random_state=0).fit(X, (X[:, 0] > 0).astype(int))
    else:
        est = MLPRegressor(hidden=(4,), epochs=2, random_state=0).fit(X, X[:, 0] - X[:, 1])
    est.save(tmp_path / "model.npz")
    evaluate.predict_file(tmp_path / "model.npz", points_file(tmp_path / "p.csv", X),
                          tmp_path / "out.csv")
    proba = est.predict_proba(X) if kind == "classifier" else None
    header = ["a", "b", "prediction"] + (
        [f"p_{c}" for c in est.classes_.tolist()] if proba is not None else [])
    assert (tmp_path / "out.csv").read_bytes() == reference(
        header, X, np.asarray(est.predict(X)), proba)


def test_rows_are_formatted_and_written_a_block_at_a_time(tmp_path, monkeypatch,
                                                          small_blocks) -> None:
    """A block of rows is one formatting call and one write (the csv module's row at a time
    was 3-4× slower: ``benchmarks/`` measures speed, this checks the blocks and the bytes)."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(203, 2))
    est = TextLabels()
    monkeypatch.setattr(evaluate, "load_model", lambda path: est)
    blocks: list[int] = []
    output_text = evaluate._output_text

    def spy(Xb, pred, proba):
        blocks.append(len(Xb))
        return output_text(Xb, pred, proba)

    monkeypatch.setattr(evaluate, "_output_text", spy)
    evaluate.predict_file(tmp_path / "model.npz", points_file(tmp_path / "p.csv", X),
                          tmp_path / "out.csv")
    # chunks of 70 points, each written in text blocks of at most 16 rows
    assert blocks == ([16] * 4 + [6]) * 2 + [16] * 3 + [15]
    header = ["a", "b", "prediction", *[f"p_{c}" for c in est.classes_.tolist()]]
    assert (tmp_path / "out.csv").read_bytes() == reference(
        header, X, est.predict(X), est.predict_proba(X))
    big = rng.normal(size=(2_000, 4))
    pred, proba = rng.integers(0, 3, len(big)), rng.random((len(big), 3))
    assert output_text(big, pred, proba).encode() == reference([], big, pred, proba)[1:]
