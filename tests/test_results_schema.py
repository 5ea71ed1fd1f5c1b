"""The results schema: rows carry every documented field, the writer emits valid JSON lines."""

import json
import math

import numpy as np
import pytest

from harness.results import (OUTCOMES, ROW_FIELDS, SCHEMA, ResultsWriter, new_row, run_record,
                             validate_row)


def test_new_row_has_every_field_and_validates():
    row = new_row(case_id="x", outcome="pass")
    assert set(row) == set(ROW_FIELDS)
    assert row["schema"] == SCHEMA and validate_row(row) == []


def test_required_fields_of_the_issue_are_in_the_schema():
    required = {"schema", "case_id", "op", "family", "backend", "framework_version", "device",
                "dtype", "outcome", "max_abs_err", "max_rel_err", "err_eps", "atol", "rtol",
                "headroom", "message", "repro", "time_backend_s", "time_reference_s"}
    assert required <= set(ROW_FIELDS)


def test_unknown_field_is_refused():
    with pytest.raises(KeyError):
        new_row(colour="blue")


def test_invalid_outcome_is_reported():
    assert any("outcome" in p for p in validate_row(new_row(outcome="maybe")))
    assert set(OUTCOMES) == {"pass", "fail", "deviation", "unsupported", "error", "skipped"}


def test_writer_makes_folders_and_writes_strict_json(tmp_path):
    path = tmp_path / "a" / "b" / "r.jsonl"
    w = ResultsWriter(path)
    w.write(run_record(seed=1))
    w.write(new_row(case_id="c", outcome="fail", err_eps=math.inf, max_abs_err=np.float32(2),
                    headroom=math.nan))
    w.close()
    lines = [json.loads(l) for l in path.read_text().splitlines()]
    assert lines[0]["record"] == "run" and "start_time" in lines[0]
    assert lines[1]["err_eps"] is None and lines[1]["headroom"] is None
    assert lines[1]["max_abs_err"] == 2.0


def test_writer_names_an_unwritable_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError, match="cannot write results file"):
        ResultsWriter(blocker / "r.jsonl")
