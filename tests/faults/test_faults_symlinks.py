"""Links out of a run or study folder: nothing outside is read into a report or written by
a resume; each is refused with one line (exit code 2)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fault_helpers import cli, one_line, write_config

from neuralab._atomic import append_line, check_links, confined, read_confined
from neuralab.cli import main

SECRET = "root:x:0:0:secret outside the run folder\n"


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished run with plots (made once; each test works on its own copy)."""
    tmp = tmp_path_factory.mktemp("finished")
    cfg = write_config(tmp / "f.toml", tmp / "runs", epochs=6, plots=True)
    assert main(["train", str(cfg), "--quiet"]) == 0
    return next((tmp / "runs").iterdir())


@pytest.fixture
def run(finished, tmp_path) -> Path:
    copy = tmp_path / "runs" / finished.name
    shutil.copytree(finished, copy, symlinks=True)
    return copy


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "outside" / "passwd"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


def _link(link: Path, target: Path) -> None:
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)
    else:
        link.unlink(missing_ok=True)
    link.symlink_to(target)


@pytest.mark.parametrize("name", ["plots/curves.png", "summary.json", "metrics.csv",
                                  "config.toml"])
def test_report_refuses_a_link_out_of_the_run(name, run, secret, tmp_path, capsys):
    _link(run / name, secret)
    out = tmp_path / "report.html"
    rc = main(["report", str(run), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "outside the run folder" in err and name.split("/")[-1] in err
    assert not out.exists()


def test_report_never_embeds_a_linked_file(run, secret, tmp_path):
    """A plot linked to a PNG outside: the report fails rather than embed its bytes."""
    png = next((run / "plots").glob("*.png"))
    secret.write_bytes(png.read_bytes() + SECRET.encode())
    _link(run / "plots" / "curves.png", secret)
    rc = main(["report", str(run), "-o", str(tmp_path / "r.html")])
    assert rc == 2 and not (tmp_path / "r.html").exists()


def test_a_link_inside_the_folder_is_followed(run, tmp_path):
    """Links that stay inside the folder are harmless: the report reads them."""
    (run / "plots" / "copy.png").write_bytes((run / "plots" / "curves.png").read_bytes())
    _link(run / "plots" / "curves.png", run / "plots" / "copy.png")
    assert main(["report", str(run), "-o", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text().count("data:image/png") >= 2


def test_a_linked_plots_folder_is_refused(run, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(run / "plots", elsewhere)
    _link(run / "plots", elsewhere)
    assert main(["report", str(run), "-o", str(tmp_path / "r.html")]) == 2
    assert "outside the run folder" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["log.txt", "metrics.csv", "checkpoints"])
def test_resume_never_writes_through_a_link(name, tmp_path, secret):
    """Resume of an unfinished run whose log.txt (or metrics.csv, or checkpoints/) links
    outside: refused with one line, the outside file unchanged."""
    cfg = write_config(tmp_path / "f.toml", tmp_path / "runs", epochs=6)
    assert main(["train", str(cfg), "--quiet"]) == 0
    run = next((tmp_path / "runs").iterdir())
    (run / "model.npz").unlink()  # unfinished: a resume would train and append
    target = secret
    if name == "checkpoints":
        target = tmp_path / "outside" / "ckpt"
        shutil.copytree(run / "checkpoints", target)
    _link(run / name, target)
    before = {p: p.read_bytes() for p in target.parent.rglob("*") if p.is_file()}
    proc = cli("train", "--resume", str(run), "--quiet", cwd=tmp_path)
    line = one_line(proc, 2)
    assert "outside the run folder" in line and name in line
    assert {p: p.read_bytes() for p in target.parent.rglob("*") if p.is_file()} == before


def test_append_never_follows_a_link(tmp_path, secret):
    link = tmp_path / "log.txt"
    link.symlink_to(secret)
    with pytest.raises(ValueError, match="symbolic link"):
        append_line(link, "x")
    assert secret.read_text() == SECRET
    append_line(tmp_path / "plain.txt", "a")
    append_line(tmp_path / "plain.txt", "b")
    assert (tmp_path / "plain.txt").read_text() == "a\nb\n"


def test_confined_reads(tmp_path, secret):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "a.txt").write_text("abc")
    (folder / "in.txt").symlink_to(folder / "a.txt")
    (folder / "out.txt").symlink_to(secret)
    (folder / "loop").symlink_to(folder / "loop")
    (folder / "broken").symlink_to(folder / "missing")
    (folder / "dir").mkdir()
    os.mkfifo(folder / "fifo")
    assert confined(folder, "missing.txt") is None
    assert read_confined(folder, "in.txt", 10) == b"abc"
    for name, message in (("out.txt", "outside the run folder"), ("loop", "loop"),
                          ("broken", "broken"), ("dir", "not a regular file"),
                          ("fifo", "not a regular file")):
        with pytest.raises(ValueError, match=message):
            confined(folder, name)
    with pytest.raises(ValueError, match="at most 2"):
        read_confined(folder, "a.txt", 2)
    with pytest.raises(ValueError, match="outside"):
        check_links(folder)


def test_study_report_refuses_a_link_out(tmp_path, secret, capsys):
    """A study folder's plots/ or runs.csv linked outside: the study report refuses it."""
    folder = tmp_path / "study"
    (folder / "plots").mkdir(parents=True)
    (folder / "study.toml").write_text('[study]\nname = "s"\n')
    (folder / "runs.csv").symlink_to(secret)
    rc = main(["report", str(folder), "-o", str(tmp_path / "s.html")])
    err = capsys.readouterr().err
    assert rc == 2 and "outside the study folder" in err, err
    assert not (tmp_path / "s.html").exists()


@pytest.mark.parametrize(("name", "command"), [("model.npz", "eval"),
                                               ("preprocess.json", "predict"),
                                               ("config.toml", "eval")])
def test_eval_and_predict_read_only_inside_the_run(name, command, run, tmp_path, capsys):
    outside = tmp_path / "outside" / name
    outside.parent.mkdir(exist_ok=True)
    shutil.copy(run / name, outside)  # the same bytes: only where they are is wrong
    _link(run / name, outside)
    (tmp_path / "points.csv").write_text("x1,x2\n0.1,0.2\n")
    argv = ["eval", str(run)] if command == "eval" else [
        "predict", str(run), str(tmp_path / "points.csv"), "-o", str(tmp_path / "p.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "outside the run folder" in err and name in err and len(err.splitlines()) == 1
