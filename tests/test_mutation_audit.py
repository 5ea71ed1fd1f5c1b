"""The sensitivity audit (tools/mutation_audit.py) on a few cheap mutants: each is killed by the
suite, and the unmutated control run on the same cases is not."""

from tools.mutation_audit import matrix, run_audit
from tools.mutants import MUTANTS, Control, Mutant, mutants


def test_catalog_of_mutants():
    real = [c for c in mutants().values() if not c.control]
    assert len(real) >= 40
    families = {c.family for c in real}
    assert {"normalization", "activation", "dropout", "loss", "init", "optim", "lr_scheduler",
            "scenario", "layers"} <= families
    for c in real:
        assert issubclass(c, Mutant) and c.name.startswith("mutant-") and c.models and c.suites
    assert MUTANTS["control"] is Control


def test_cheap_mutants_are_killed_and_the_control_is_not(tmp_path):
    names = ["steplr_one_epoch_late", "multisteplr_dedup_milestones", "control"]
    outcomes, timing = run_audit(names, jobs=2, out=tmp_path, log=lambda *a: None)
    by_name = {o.name: o for o in outcomes}
    text = matrix(outcomes, timing)
    for name in names[:2]:
        o = by_name[name]
        assert not o.broken, text
        assert o.killed and o.cases > 0, text
        assert all(k.startswith("optim.lr_scheduler.") for k in o.killers), text
    control = by_name["control"]
    assert control.cases > 0 and not control.killed and not control.broken, text
