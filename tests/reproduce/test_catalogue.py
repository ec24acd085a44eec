"""The catalogue: every entry loads and validates, its studies parse (full and --quick, with
a data folder), its exact checks exist; malformed entries get one clear error."""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path

import pytest
import tomllib

from neuralab.reproduce import catalogue as cat
from neuralab.reproduce.exact import CHECKS, run_check

ENTRIES = cat.load()
FOLDER = Path(str(resources.files(cat.__name__)))


def test_catalogue_covers_the_seed_reports_of_this_part() -> None:
    ids = {e.id for e in ENTRIES}
    assert len(ids) == len(ENTRIES)
    for report in ("002", "003", "004"):
        assert any(e.report == report for e in ENTRIES), report
    # every offline study and every exact claim is runnable in CI; data entries say so
    assert any(e.needs == ["octmnist"] for e in ENTRIES)
    assert any(e.needs == ["mnist"] for e in ENTRIES)
    assert (FOLDER / "README.md").is_file()


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_studies_parse_full_and_quick(entry: cat.Entry, tmp_path: Path) -> None:
    assert entry.id.split("-")[1] == entry.report
    for claim in entry.claims:
        if claim.kind == "exact":
            assert claim.check in CHECKS
    if not entry.studied:
        assert all(c.kind == "exact" for c in entry.claims)
        return
    for variant in cat.variant_names(entry):
        full = cat.entry_study(entry, variant, data_dir=tmp_path)
        quick = cat.entry_study(entry, variant, quick=True, data_dir=tmp_path)
        assert quick.n_runs() <= full.n_runs()
        assert quick.base.train.epochs <= full.base.train.epochs
        if not entry.needs:  # the report's rate count, else at least 30 seeds
            assert len(full.spec.seed_indices()) >= 30  # issue 13: verdicts over >= 30 seeds
    if entry.needs:
        cfg = cat.study_config(entry, cat.variant_names(entry)[0], data_dir=tmp_path)
        where = cat.DATA_SETS[entry.needs[0]]
        section, key = where["key"].split(".")
        assert cfg[section][key] == str(tmp_path / where["at"])


def _example() -> dict:
    path = FOLDER / "tsinghua-004-q5-cnn-vs-onelayer.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(colour="red"), "colour"),
    (lambda d: d.update(report="007"), "report"),
    (lambda d: d["claims"][0].update(kind="guess"), "claims.0"),
    (lambda d: d["claims"][0].pop("metric"), "metric"),
    (lambda d: d.pop("config"), "need a \\[config\\]"),
    (lambda d: d["config"].pop("study"), "config.study"),
    (lambda d: d["quick"].update({"epochs": 3}), "dotted config key"),
    (lambda d: d.update(id="Bad Id"), "id"),
])
def test_malformed_entries_get_one_clear_error(change, message: str) -> None:
    data = _example()
    change(data)
    with pytest.raises(cat.CatalogueError, match=message) as err:
        cat.parse_entry(data, "x.toml")
    assert "\n" not in str(err.value) and "x.toml" in str(err.value)


def test_selectors_must_name_grid_keys_or_variants() -> None:
    data = _example()
    data["claims"][0]["better"] = {"variant": "cnnn"}
    with pytest.raises(cat.CatalogueError, match="did you mean 'cnn'"):
        cat.entry_study(cat.parse_entry(data), "cnn")
    data = _example()
    data["claims"][0]["better"] = {"model.activaton": "relu"}
    with pytest.raises(cat.CatalogueError, match="not a grid key"):
        cat.entry_study(cat.parse_entry(data), "cnn")


def test_quick_overrides_and_variants_apply() -> None:
    entry = cat.parse_entry(_example())
    one = cat.study_config(entry, "onelayer", quick=True)
    assert one["model"] == {"kind": "mlp", "hidden": [100]}
    assert one["study"]["seeds"] == entry.quick["study.seeds"]
    assert one["train"]["epochs"] == entry.quick["train.epochs"]
    assert entry.config["train"]["epochs"] != one["train"]["epochs"]  # entry not changed
    with pytest.raises(cat.CatalogueError, match="no variant"):
        cat.study_config(entry, "lenet")


def test_select_by_id_and_prefix_and_close_matches() -> None:
    assert [e.id for e in cat.select(ENTRIES, ["tsinghua-004-q5-flooding"])] == [
        "tsinghua-004-q5-flooding"]
    assert {e.report for e in cat.select(ENTRIES, ["jhu-003"])} == {"003"}
    with pytest.raises(ValueError, match="close matches: tsinghua-004-q5-flooding"):
        cat.select(ENTRIES, ["tsinghua-004-q5-floding"])


def test_exact_checks_detect_wrong_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    from neuralab.reproduce import exact

    # a consistent set of conv answers is found (4x4 filter, 6x5 input, padding 1+2)
    found, _, detail = run_check("conv_answers_consistent", {
        "output": [3, 2], "same_padding": [1, 2, 1, 2], "parameters": 16})
    assert found and "6x5" in detail
    assert run_check("conv_output_shape", {"input": [6, 5], "kernel": 4})[0] == [3, 2]
    assert run_check("linearly_separable", {"D": 2, "A": -1, "B": 1})[0] is False
    assert run_check("linearly_separable", {"D": 2, "A": 2, "B": 2})[0] is True  # AND
    # a network whose output bias is off by one misses cases, and the check counts them
    right = exact._network

    def wrong(kind: str, D: int, A: int, B: int):
        net = right(kind, D, A + 1, B)
        return net
    monkeypatch.setattr(exact, "_network", wrong)
    misses, cases, detail = run_check("network_computes_f", {"network": "sign", "max_D": 3})
    assert misses > 0 and cases > misses and "first miss" in detail
    with pytest.raises(ValueError, match="did you mean 'conv_parameters'"):
        run_check("conv_parameter", {})
    with pytest.raises(ValueError, match="unexpected keyword"):
        run_check("conv_parameters", {"kernal": 3})


def test_entry_ids_match_their_files() -> None:
    for path in FOLDER.glob("*.toml"):
        assert cat.read_entry(path).id == path.stem
    data = copy.deepcopy(_example())
    assert cat.parse_entry(data).offline
