"""Backend lookup: built-in names, import paths, entry points, clear errors."""

import pytest

from backends import registry
from backends.contract import Adapter
from backends.reference_backend import ReferenceBackend


def test_builtin_names():
    assert registry.resolve("reference") is ReferenceBackend
    assert {"reference", "torch-cpu", "torch-cuda"} <= set(registry.available_names())


def test_import_path():
    cls = registry.resolve("tests.adapters.misbehaving:Raising")
    assert issubclass(cls, Adapter) and cls.name == "raising"


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(registry.UnknownBackend, match="available: .*reference.*torch-cpu"):
        registry.resolve("tensorflow")


@pytest.mark.parametrize("spec, message", [
    ("no.such.module:Backend", "cannot import"),
    ("tests.adapters.misbehaving:Missing", "has no attribute"),
    ("tests.adapters.misbehaving:NotAnAdapter", "not a subclass"),
])
def test_bad_import_paths(spec, message):
    with pytest.raises(registry.UnknownBackend, match=message):
        registry.resolve(spec)


def test_entry_point_group(monkeypatch):
    class FakeEntryPoint:
        name = "mypkg"

        def load(self):
            return ReferenceBackend

    monkeypatch.setattr(registry, "entry_points",
                        lambda group: [FakeEntryPoint()] if group == registry.ENTRY_POINT_GROUP
                        else [])
    assert registry.resolve("mypkg") is ReferenceBackend
    assert "mypkg" in registry.available_names()
