"""Expectations files: well-formed, sourced, and applied as documented."""

from pathlib import Path

import pytest

from harness import expectations

ROOT = Path(__file__).resolve().parent.parent


def test_every_shipped_expectations_file_is_well_formed():
    for folder in (ROOT / "backends" / "expectations").iterdir():
        if folder.is_dir():
            for dev in expectations.load(folder):
                assert dev.reason.strip() and dev.source.strip() and dev.case.strip()


def test_pattern_and_backend_restriction(tmp_path):
    f = tmp_path / "x.toml"
    f.write_text('[[deviation]]\ncase = "nn.Foo-*"\nreason = "r"\nsource = "s"\n'
                 'backends = ["torch-cpu"]\n')
    assert expectations.find(f, "nn.Foo-float32-a", "torch-cpu").reason == "r"
    assert expectations.find(f, "nn.Foo-float32-a", "torch-cuda") is None
    assert expectations.find(f, "nn.Bar-float32-a", "torch-cpu") is None


def test_folder_of_files(tmp_path):
    (tmp_path / "a.toml").write_text('[[deviation]]\ncase = "a*"\nreason = "r"\nsource = "s"\n')
    (tmp_path / "b.toml").write_text('[[deviation]]\ncase = "b*"\nreason = "r"\nsource = "s"\n')
    assert {d.case for d in expectations.load(tmp_path)} == {"a*", "b*"}


def test_entry_without_source_is_refused(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[[deviation]]\ncase = "x"\nreason = "r"\n')
    with pytest.raises(ValueError, match="lacks source"):
        expectations.load(f)


def test_malformed_toml_names_the_file(tmp_path):
    f = tmp_path / "broken.toml"
    f.write_text("[[deviation]\n")
    with pytest.raises(ValueError, match="broken.toml"):
        expectations.load(f)
