"""A CNN run folder from an older version, whose config.toml holds both the layer list it
trained and the default architecture name, resumes and evaluates (the layers win)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from neuralab.experiments.config import ConfigError, load_config, parse_config
from neuralab.experiments.evaluate import eval_run
from neuralab.experiments.run import load_run_config, read_summary, resume_run, run_experiment

LAYERS = [{"type": "conv2d", "out": 2, "kernel": 3}, {"type": "relu"}, {"type": "flatten"}]


@pytest.fixture
def old_cnn_run(tmp_path):
    cfg = parse_config({"data": {"name": "digits"}, "model": {"kind": "cnn", "layers": LAYERS},
                        "train": {"epochs": 1, "batch_size": 64},
                        "output": {"dir": str(tmp_path), "name": "cnn", "plots": False}})
    run_dir = run_experiment(cfg, quiet=True).run_dir
    config = run_dir / "config.toml"
    text = config.read_text(encoding="utf-8")
    # what older versions wrote: the name beside the list
    config.write_text(re.sub(r'(?m)^kind = "cnn"$', 'kind = "cnn"\narchitecture = "lenet5"',
                             text, count=1), encoding="utf-8")
    return run_dir


def test_an_old_cnn_run_resumes_with_the_layers_it_trained(old_cnn_run) -> None:
    config = old_cnn_run / "config.toml"
    assert 'architecture = "lenet5"' in config.read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match="are both set"):  # a new config: still refused
        load_config(config)
    assert load_run_config(config).model.layers == LAYERS
    result = resume_run(old_cnn_run, quiet=True, epochs=2)
    assert result.summary["status"] == "finished" and result.summary["epochs_trained"] == 2
    assert read_summary(old_cnn_run)["epochs_trained"] == 2
    assert "architecture" not in config.read_text(encoding="utf-8")  # rewritten, layers only
    assert 0 <= eval_run(old_cnn_run, write=False)["accuracy"] <= 1


def test_the_command_line_resumes_and_evaluates_an_old_cnn_run(old_cnn_run) -> None:
    for args in (["train", "--resume", str(old_cnn_run), "-q"], ["eval", str(old_cnn_run)]):
        proc = subprocess.run([sys.executable, "-m", "neuralab", *args], capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
