"""The record chapter XIII's tuning table reads (benchmarks/gan_tuning.json): dated, with the
command of each run, one row per variant and seed of benchmarks/gan_tuning.py; and the script's
--record writes that format."""

import datetime
import importlib.util
import json
from pathlib import Path

import pytest

from vaecourse.kit import fitting

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tuning():
    spec = importlib.util.spec_from_file_location("gan_tuning", ROOT / "benchmarks/gan_tuning.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_record_is_dated_and_names_its_commands(tuning):
    record = fitting.tuning_record()
    assert record["benchmark"] == "benchmarks/gan_tuning.py"
    assert record["runs"]
    for run in record["runs"]:
        datetime.date.fromisoformat(run["date"])  # raises on a missing or malformed date
        assert "benchmarks/gan_tuning.py" in run["command"]
    for row in record["rows"]:
        assert 0 <= row["run"] < len(record["runs"])
        assert set(tuning.RECORD_FIELDS) <= set(row)
        assert row["name"] in tuning.VARIANTS and row["change"] == tuning.CHANGES[row["name"]]
        assert f"--seed {row['seed']}" in record["runs"][row["run"]]["command"] or row["seed"] == 42
        assert row["images_seen"] == row["step"] * row["batch"]
    pairs = [(row["name"], row["seed"]) for row in record["rows"]]
    assert len(pairs) == len(set(pairs)), "one row per variant and seed"


def test_write_record_adds_a_run_and_replaces_rows_of_the_same_variant_and_seed(tuning, tmp_path):
    path = tmp_path / "record.json"

    def row(name, seed, fd):
        return {k: 0 for k in tuning.RECORD_FIELDS} | {"name": name, "seed": seed, "fd": fd}

    tuning.write_record(path, [row("resize", 42, 90.0), row("smooth", 42, 200.0)], 100)
    tuning.write_record(path, [row("resize", 42, 80.0), row("resize", 7, 70.0)], 100)
    record = json.loads(path.read_text())
    assert len(record["runs"]) == 2
    got = {(r["name"], r["seed"]): (r["fd"], r["run"]) for r in record["rows"]}
    assert got == {("smooth", 42): (200.0, 0), ("resize", 42): (80.0, 1), ("resize", 7): (70.0, 1)}
