"""Issue #4 read as an outside tester: an unknown key always gets the closest valid key,
also when it belongs to another section or is a course skeleton's name for one."""

from __future__ import annotations

import pytest

from neuralab.experiments.config import ConfigError, apply_set, parse_config


@pytest.mark.parametrize(("data", "expected"), [
    ({"train": {"lr": 0.1}}, "unknown key train.lr in [train] (did you mean 'optim.lr'?)"),
    ({"model": {"epochs": 3}}, "(did you mean 'train.epochs'?)"),
    ({"optim": {"batch_size": 16}}, "(did you mean 'train.batch_size'?)"),
    ({"train": {"hidden": [5]}}, "(did you mean 'model.hidden'?)"),
    ({"lr": 0.1}, "unknown key lr at the top level (did you mean 'optim.lr'?)"),
    ({"optim": {"learning_rate": 0.1}}, "(did you mean 'optim.lr'?)"),
    ({"train": {"max_steps": 10}}, "(did you mean 'train.epochs'?)"),
    ({"train": {"eval_freq": 10}}, "(did you mean 'eval_every'?)"),
    ({"train": {"bach_size": 3}}, "(did you mean 'batch_size'?)"),  # same section first
])
def test_unknown_key_suggests_the_valid_one(data, expected):
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_set_of_a_bare_key_suggests_its_section():
    with pytest.raises(ConfigError, match=r"unknown section 'lr' \(did you mean 'optim\.lr'\?\)"):
        apply_set({}, "lr=0.1")
    with pytest.raises(ConfigError, match=r"did you mean 'train'"):
        apply_set({}, "tran.epochs=3")


def test_a_key_of_no_section_gets_no_made_up_suggestion():
    with pytest.raises(ConfigError) as info:
        parse_config({"optim": {"zzz": 1}})
    assert "did you mean" not in str(info.value)


def test_cli_unknown_key_one_line_exit_2(capsys):
    from neuralab.cli import main

    assert main(["config", "show", "--set", "train.lr=0.1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("neuralab: error: unknown key train.lr")
    assert "did you mean 'optim.lr'?" in err[0]


def test_eval_of_a_missing_run_folder_says_it_does_not_exist(tmp_path, capsys):
    # `neuralab eval runs/a ...` before runs/a exists: the same line as `--resume` and
    # `report` give, not "is not a run folder (it has no config.toml)"
    from neuralab.cli import main

    missing = tmp_path / "runs" / "a"
    assert main(["eval", str(missing), "--split", "test"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"neuralab: error: run folder {missing} does not exist"]
    afile = tmp_path / "points.csv"
    afile.write_text("x1,x2\n0,0\n")
    assert main(["eval", str(afile)]) == 2
    assert f"{afile} is a file, not a run folder" in capsys.readouterr().err
