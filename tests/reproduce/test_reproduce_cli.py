"""``neuralab reproduce`` as a user runs it: --list, one entry, --quick, needs-data, bad ids,
the report; and the runner's resume (a finished study is reused, not run again)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neuralab.cli import main
from neuralab.reproduce import catalogue as cat
from neuralab.reproduce import runner

EXACT = "ist-002-q3-1a-xor"  # exact claims only: instant
SMALL = "ist-002-q1-2a-linear-vs-mlp"  # a small offline study (two variants)
DATA = "ist-002-q1-1a-perceptron"  # needs OCTMNIST


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["reproduce", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_entry_with_its_status(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(capsys, "--list", "--out", str(tmp_path))
    assert code == 0
    text = out.replace("\n", " ")
    assert "needs data" in text and "not run" in text
    assert "neuralab data get octmnist" in out  # the download command is printed
    assert max(len(line) for line in out.splitlines()) <= 80
    assert f"{len(cat.load())} catalogue entries" in out


def test_one_exact_entry_runs_and_records_verdicts(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, EXACT, "--out", str(tmp_path), "-q")
    assert code == 0
    assert f"{EXACT}: agrees (2/2)" in out and f"re-run: neuralab reproduce {EXACT}" in out
    info = json.loads((tmp_path / EXACT / "verdicts.json").read_text())
    assert [v["outcome"] for v in info["verdicts"]] == ["agrees", "agrees"]
    assert info["verdicts"][0]["n"] == 4  # the four points of {-1, 1}^2
    code, out, _ = run(capsys, "--list", "--out", str(tmp_path))
    assert "agrees (2/2)" in out.replace("\n", " ") or "agrees" in out


def test_needs_data_is_listed_never_skipped_silently(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, DATA, "--out", str(tmp_path))
    assert code == 2
    assert err.count("\n") == 1 and "neuralab: error:" in err
    assert "neuralab data get octmnist" in err and "--data-dir" in err
    entry = cat.select(cat.load(), [DATA])[0]
    with pytest.raises(runner.NeedsData, match="octmnist"):
        runner.run_entry(entry, out=tmp_path)


def test_a_data_dir_without_the_files_names_them_and_leaves_no_folder(capsys,
                                                                     tmp_path: Path) -> None:
    """It used to leave an empty entry folder and say "drop data.path", a key the user of
    reproduce never wrote; the command now fills the very folder given."""
    empty = tmp_path / "my data"
    empty.mkdir()
    code, _, err = run(capsys, DATA, "--quick", "--data-dir", str(empty), "--out",
                       str(tmp_path / "r"), "-q")
    assert code == 2 and err.startswith("neuralab: error:") and err.count("\n") == 1, err
    assert str(empty / "octmnist.npz") in err
    assert f"neuralab data get octmnist --root '{empty}'" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["ist-002-q3-1a-xorr"], "close matches: ist-002-q3-1a-xor"),
    (["nothing-like-it"], "--list"),
    ([], "give an entry id"),
    (["--all", EXACT], "not both"),
    (["--list", EXACT], "--list lists every entry"),
    ([EXACT, "-o", "report.pdf"], ".html or .md"),
    ([EXACT, "--data-dir", "/nonexistent/folder"], "is not a folder"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path: Path, args, message) -> None:
    code, _, err = run(capsys, *args, "--out", str(tmp_path))
    assert code == 2
    assert err.startswith("neuralab: error:") and err.count("\n") == 1
    assert message in err
    assert not (tmp_path / EXACT).exists()


@pytest.mark.slow
def test_quick_study_entry_report_and_resume(capsys, tmp_path: Path) -> None:
    out_dir = tmp_path / "repro"
    code, out, _ = run(capsys, SMALL, "--quick", "--out", str(out_dir), "-q",
                       "-o", str(tmp_path / "r.html"))
    assert code == 0, out
    folder = out_dir / f"{SMALL}-quick"
    studies = sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert len(studies) == 2 and all(s.startswith(SMALL) for s in studies)
    assert "agrees" in out
    html = (tmp_path / "r.html").read_text()
    assert SMALL in html and "data:image/png;base64," in html
    assert f"neuralab reproduce {SMALL}" in html and "Content-Security-Policy" in html
    # the same command again reuses the finished studies (no new folder)
    stamp = {p: p.stat().st_mtime for p in folder.glob("*/runs.csv")}
    code, _, _ = run(capsys, SMALL, "--quick", "--out", str(out_dir), "-q",
                     "-o", str(tmp_path / "r.md"))
    assert code == 0
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == studies
    assert {p: p.stat().st_mtime for p in folder.glob("*/runs.csv")} == stamp
    md = (tmp_path / "r.md").read_text()
    assert "| entry | claim | report |" in md and SMALL in md


def test_report_of_run_and_not_run_entries(capsys, tmp_path: Path) -> None:
    code, _, _ = run(capsys, EXACT, "--out", str(tmp_path), "-q", "-o",
                     str(tmp_path / "r.html"))
    assert code == 0
    html = (tmp_path / "r.html").read_text()
    assert "Content-Security-Policy" in html and f'id="{EXACT}"' in html
    assert 'class="agrees"' in html and "4 cases" in html
    from neuralab.report.reproduce import write_reproduce_report

    entries = cat.select(cat.load(), [EXACT, DATA])
    md = write_reproduce_report(entries, tmp_path / "r.md", out=tmp_path).read_text()
    assert "needs data: neuralab data get octmnist" in md  # listed, with the command
    assert f"neuralab reproduce {DATA} --data-dir ~/data" in md
    assert md.count(f"| {EXACT} ") == 2  # one row per claim


@pytest.mark.slow
def test_all_quick_runs_every_offline_entry_and_reports_missing_files(capsys,
                                                                      tmp_path: Path) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    code, out, err = run(capsys, "--all", "--quick", "--data-dir", str(empty), "--out",
                         str(tmp_path / "r"), "-q")
    assert code == 2 and "could not run" in err  # the data entries: files missing
    offline = [e for e in cat.load() if not e.needs]
    for e in offline:
        info = json.loads((tmp_path / "r" / f"{e.id}-quick" / "verdicts.json").read_text())
        assert len(info["verdicts"]) == len(e.claims)
    for e in cat.load():
        if e.needs:
            assert f"{e.id}: not run:" in out


@pytest.mark.slow
def test_a_one_cell_study_with_a_target_draws_its_figures(tmp_path: Path) -> None:
    # variants run as one-cell studies (no grid) with a target: their figures are drawn
    from neuralab.studies.runner import Study

    study = Study({"data": {"name": "xor", "options": {"n": 60}},
                   "model": {"kind": "mlp", "hidden": [4]},
                   "train": {"epochs": 3, "batch_size": "full"}},
                  seeds=2, target={"train_acc": 1.0}, name="one-cell")
    result = study.run(out=tmp_path)
    names = {p.stem for p in (result.folder / "plots").glob("*.png")}
    assert {"success_rates", "convergence"} <= names


def _stand_in_files(root: Path) -> None:
    """MNIST's four IDX files and an octmnist.npz in MedMNIST's layout, filled with
    scikit-learn's digits (upsampled to 28×28; 4 classes for OCTMNIST): not the real sets,
    only their formats and sizes, so the data entries' plumbing can run offline."""
    import struct

    from sklearn.datasets import load_digits

    d = load_digits()
    X = (np.kron(d.images, np.ones((4, 4)))[:, 2:30, 2:30] / 16 * 255).astype(np.uint8)
    X, y = np.concatenate([X] * 12), np.concatenate([d.target] * 12).astype(np.uint8)
    (root / "mnist").mkdir(parents=True)

    def idx(name: str, arr: np.ndarray, magic: int) -> None:
        head = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in arr.shape)
        (root / "mnist" / name).write_bytes(head + arr.tobytes())

    idx("train-images-idx3-ubyte", X[:20000], 2051)
    idx("train-labels-idx1-ubyte", y[:20000], 2049)
    idx("t10k-images-idx3-ubyte", X[20000:], 2051)
    idx("t10k-labels-idx1-ubyte", y[20000:], 2049)
    y4 = (y % 4)[:, None]
    np.savez(root / "octmnist.npz", train_images=X[:9000], train_labels=y4[:9000],
             val_images=X[9000:11000], val_labels=y4[9000:11000],
             test_images=X[11000:], test_labels=y4[11000:])


@pytest.mark.slow
def test_every_data_entry_runs_quick_on_stand_in_files(capsys, tmp_path: Path) -> None:
    """The MNIST / OCTMNIST entries cannot be measured here (no files), but each must run
    end to end once the files are there: on stand-ins of the same formats every claim gets a
    verdict (what they say means nothing on these stand-ins)."""
    _stand_in_files(tmp_path / "data")
    data = [e for e in cat.load() if e.needs]
    assert data
    code, _, err = run(capsys, *(e.id for e in data), "--quick", "--data-dir",
                         str(tmp_path / "data"), "--out", str(tmp_path / "r"), "-q")
    assert code == 0, err
    for e in data:
        info = json.loads((tmp_path / "r" / f"{e.id}-quick" / "verdicts.json").read_text())
        assert len(info["verdicts"]) == len(e.claims), e.id
