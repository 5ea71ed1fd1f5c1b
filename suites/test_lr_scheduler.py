"""Learning-rate schedulers: every optim.lr_scheduler schedule and optim.swa_utils.SWALR, the lr
sequence (and momentum / beta1 where cycled) per param group over at least three cycles or 100
steps, plus state_dict round trips mid-schedule (float64: schedules are host-side).

Functions (LambdaLR, MultiplicativeLR, CyclicLR scale_fn) are named specs of
backends.contract.NAMED_FUNCTIONS; composite schedulers take child specs."""

from hypothesis import given, strategies as st

from harness.cases import Case, cases_from, generated, content_label
from harness.tolerance import elementwise, iterated

P = "optim.lr_scheduler."


def sched(op: str, label: str, num_steps: int = 30, lrs=(0.1,), groups=None, metrics=None,
          resume_at=None, **kwargs) -> Case:
    """A schedule case: a recurrence of num_steps steps, iterated(num_steps, elementwise)."""
    expect_error = kwargs.pop("expect_error", "")
    extra = {"groups": groups or [{"lr": lr} for lr in lrs], "num_steps": num_steps}
    if metrics is not None:
        extra["metrics"] = list(metrics)
    if resume_at is not None:
        extra["resume_at"] = resume_at
    full = op if "." in op else P + op
    return Case(op=full, family="lr_scheduler", label=label, kwargs=kwargs,
                rule=iterated(num_steps, elementwise()), dtypes=("float64",),
                expect_error=expect_error, extra=extra)


def step_lr(label: str, num_steps: int = 30, lrs=(0.1,), **kwargs) -> Case:
    return sched("StepLR", label, num_steps, lrs, **kwargs)


def fn(name: str, **kwargs) -> dict:
    return {"fn": name, "kwargs": kwargs}


def child(op: str, **kwargs) -> dict:
    return {"op": P + op, "kwargs": kwargs}


TWO = (0.1, 0.01)
SGD_MOM = [{"lr": 0.1, "momentum": 0.9}, {"lr": 0.01, "momentum": 0.5}]
ADAM = [{"lr": 0.1, "betas": (0.9, 0.999)}, {"lr": 0.01, "betas": (0.8, 0.99)}]


def plateau_metrics(n: int = 100) -> list[float]:
    """Improving, then plateaus and small improvements (below/above the thresholds), worse
    values, and a late improvement: every branch of ReduceLROnPlateau."""
    out, v = [], 1.0
    for t in range(n):
        phase = (t // 10) % 4
        if phase == 0:
            v *= 0.9
        elif phase == 1:
            v *= 1.0 - 1e-5  # improvements below the default rel threshold 1e-4
        elif phase == 2:
            v += 0.01
        else:
            v *= 0.97
        out.append(v)
    return out


def rising(n: int = 100) -> list[float]:
    return [-m for m in plateau_metrics(n)]


def curated() -> list[Case]:
    cases = [
        step_lr("step3_gamma0.5", step_size=3, gamma=0.5),
        step_lr("step1", step_size=1, gamma=0.9),
        step_lr("step10_gamma0.1_100", num_steps=100, step_size=10, gamma=0.1),
        step_lr("two_groups", lrs=(0.1, 0.01), step_size=4, gamma=0.3),
        step_lr("gamma1", step_size=2, gamma=1.0),
        step_lr("state_dict_resume", lrs=TWO, step_size=4, gamma=0.5, resume_at=13),
        # LambdaLR / MultiplicativeLR with named functions
        sched("LambdaLR", "linear_warmup", 100, TWO, lr_lambda=fn("linear_warmup", steps=10)),
        sched("LambdaLR", "exponential", 100, TWO, lr_lambda=fn("exponential", gamma=0.97)),
        sched("LambdaLR", "per_group", 100, TWO,
              lr_lambda=[fn("linear_warmup", steps=20), fn("exponential", gamma=0.95)]),
        sched("LambdaLR", "state_dict_resume", 100, TWO,
              lr_lambda=fn("linear_warmup", steps=10), resume_at=37),
        sched("LambdaLR", "wrong_count", 10, TWO,
              lr_lambda=[fn("constant", value=1.0)] * 3, expect_error="Expected 2 lr_lambdas"),
        sched("MultiplicativeLR", "constant0.97", 100, TWO,
              lr_lambda=fn("constant", value=0.97)),
        sched("MultiplicativeLR", "periodic", 100, TWO,
              lr_lambda=fn("periodic", period=7, factor=0.5)),
        sched("MultiplicativeLR", "per_group", 100, TWO,
              lr_lambda=[fn("constant", value=0.95), fn("periodic", period=5, factor=0.8)]),
        sched("MultiplicativeLR", "state_dict_resume", 100, TWO,
              lr_lambda=fn("constant", value=0.97), resume_at=41),
        # MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR
        sched("MultiStepLR", "milestones", 100, TWO, milestones=[10, 30, 60], gamma=0.5),
        sched("MultiStepLR", "repeated_milestone", 100, TWO, milestones=[10, 30, 30, 80],
              gamma=0.3),
        sched("MultiStepLR", "state_dict_resume", 100, TWO, milestones=[10, 30, 60],
              gamma=0.5, resume_at=25),
        sched("ConstantLR", "default", 30, TWO),
        sched("ConstantLR", "factor0.5_total10", 30, TWO, factor=0.5, total_iters=10),
        sched("ConstantLR", "state_dict_resume", 30, TWO, factor=0.5, total_iters=10,
              resume_at=5),
        sched("ConstantLR", "bad_factor", 5, factor=1.5, expect_error="between 0 and 1"),
        sched("LinearLR", "default", 30, TWO),
        sched("LinearLR", "decay", 100, TWO, start_factor=1.0, end_factor=0.1,
              total_iters=40),
        sched("LinearLR", "warmup", 100, TWO, start_factor=0.01, end_factor=1.0,
              total_iters=25),
        sched("LinearLR", "state_dict_resume", 100, TWO, start_factor=0.1, total_iters=40,
              resume_at=20),
        sched("LinearLR", "bad_start", 5, start_factor=0.0, expect_error="greater than 0"),
        sched("ExponentialLR", "gamma0.95", 100, TWO, gamma=0.95),
        sched("ExponentialLR", "state_dict_resume", 100, TWO, gamma=0.95, resume_at=50),
        sched("PolynomialLR", "default", 30, TWO),
        sched("PolynomialLR", "power2_total50", 100, TWO, total_iters=50, power=2.0),
        sched("PolynomialLR", "power0.5", 100, TWO, total_iters=60, power=0.5),
        sched("PolynomialLR", "state_dict_resume", 100, TWO, total_iters=50, power=2.0,
              resume_at=30),
        # CosineAnnealingLR: beyond T_max (the periodic recurrence), eta_min
        sched("CosineAnnealingLR", "T10_three_cycles", 60, TWO, T_max=10),
        sched("CosineAnnealingLR", "eta_min", 100, TWO, T_max=25, eta_min=1e-3),
        sched("CosineAnnealingLR", "state_dict_resume", 100, TWO, T_max=25, eta_min=1e-3,
              resume_at=40),
        # CosineAnnealingWarmRestarts
        sched("CosineAnnealingWarmRestarts", "T0_10", 100, TWO, T_0=10),
        sched("CosineAnnealingWarmRestarts", "T_mult2", 100, TWO, T_0=5, T_mult=2,
              eta_min=1e-3),
        sched("CosineAnnealingWarmRestarts", "T_mult3", 130, TWO, T_0=3, T_mult=3),
        sched("CosineAnnealingWarmRestarts", "state_dict_resume", 100, TWO, T_0=5, T_mult=2,
              resume_at=22),
        sched("CosineAnnealingWarmRestarts", "bad_T0", 5, T_0=0,
              expect_error="Expected positive integer T_0"),
        # ReduceLROnPlateau
        sched("ReduceLROnPlateau", "min_rel", 100, TWO, metrics=plateau_metrics(), patience=3),
        sched("ReduceLROnPlateau", "min_abs", 100, TWO, metrics=plateau_metrics(), patience=2,
              threshold_mode="abs", threshold=1e-3, factor=0.5),
        sched("ReduceLROnPlateau", "max_rel", 100, TWO, metrics=rising(), mode="max",
              patience=3),
        sched("ReduceLROnPlateau", "max_abs", 100, TWO, metrics=rising(), mode="max",
              threshold_mode="abs", threshold=1e-3, patience=1),
        sched("ReduceLROnPlateau", "cooldown", 100, TWO, metrics=plateau_metrics(), patience=1,
              cooldown=4, factor=0.5),
        sched("ReduceLROnPlateau", "min_lr", 100, TWO, metrics=plateau_metrics(), patience=1,
              factor=0.3, min_lr=[1e-3, 5e-4]),
        sched("ReduceLROnPlateau", "eps", 100, TWO, metrics=plateau_metrics(), patience=1,
              factor=0.5, eps=1e-3),
        sched("ReduceLROnPlateau", "state_dict_resume", 100, TWO, metrics=plateau_metrics(),
              patience=2, cooldown=2, factor=0.5, resume_at=33),
        sched("ReduceLROnPlateau", "bad_factor", 5, metrics=[1.0] * 5, factor=1.0,
              expect_error="Factor should be < 1.0"),
        sched("ReduceLROnPlateau", "bad_mode", 5, metrics=[1.0] * 5, mode="up",
              expect_error="mode up is unknown"),
        # CyclicLR: three cycles and more, momentum (SGD) and beta1 (Adam) cycling
        sched("CyclicLR", "triangular", 100, groups=SGD_MOM, base_lr=0.01, max_lr=0.1,
              step_size_up=10),
        sched("CyclicLR", "triangular_asymmetric", 100, groups=SGD_MOM, base_lr=[0.01, 0.001],
              max_lr=[0.1, 0.05], step_size_up=5, step_size_down=15),
        sched("CyclicLR", "triangular2", 100, groups=SGD_MOM, base_lr=0.01, max_lr=0.1,
              step_size_up=8, mode="triangular2"),
        sched("CyclicLR", "exp_range", 100, groups=SGD_MOM, base_lr=0.01, max_lr=0.1,
              step_size_up=10, mode="exp_range", gamma=0.98),
        sched("CyclicLR", "no_cycle_momentum", 100, TWO, base_lr=0.01, max_lr=0.1,
              step_size_up=10, cycle_momentum=False),
        sched("CyclicLR", "beta1", 100, groups=ADAM, base_lr=0.01, max_lr=0.1, step_size_up=10,
              base_momentum=0.8, max_momentum=0.95),
        sched("CyclicLR", "momentum_per_group", 100, groups=SGD_MOM, base_lr=0.01, max_lr=0.1,
              step_size_up=10, base_momentum=[0.8, 0.7], max_momentum=[0.9, 0.95]),
        sched("CyclicLR", "scale_fn_cycle", 100, groups=SGD_MOM, base_lr=0.01, max_lr=0.1,
              step_size_up=10, scale_fn=fn("inverse"), scale_mode="cycle"),
        sched("CyclicLR", "scale_fn_iterations", 100, groups=SGD_MOM, base_lr=0.01, max_lr=0.1,
              step_size_up=10, scale_fn=fn("exponential", gamma=0.99),
              scale_mode="iterations"),
        sched("CyclicLR", "state_dict_resume", 100, groups=SGD_MOM, base_lr=0.01, max_lr=0.1,
              step_size_up=10, mode="triangular2", resume_at=27),
        # OneCycleLR
        sched("OneCycleLR", "cos", 100, groups=SGD_MOM, max_lr=0.1, total_steps=100),
        sched("OneCycleLR", "linear", 100, groups=SGD_MOM, max_lr=0.1, total_steps=100,
              anneal_strategy="linear"),
        sched("OneCycleLR", "three_phase", 100, groups=SGD_MOM, max_lr=[0.1, 0.05],
              total_steps=100, three_phase=True),
        sched("OneCycleLR", "three_phase_linear", 100, groups=SGD_MOM, max_lr=0.1,
              total_steps=100, three_phase=True, anneal_strategy="linear", pct_start=0.2),
        sched("OneCycleLR", "div_factors", 100, groups=SGD_MOM, max_lr=0.1, total_steps=100,
              div_factor=10.0, final_div_factor=100.0, pct_start=0.4),
        sched("OneCycleLR", "epochs", 100, groups=SGD_MOM, max_lr=0.1, epochs=10,
              steps_per_epoch=10),
        sched("OneCycleLR", "beta1", 100, groups=ADAM, max_lr=0.1, total_steps=100,
              base_momentum=0.8, max_momentum=0.95),
        sched("OneCycleLR", "no_cycle_momentum", 100, TWO, max_lr=0.1, total_steps=100,
              cycle_momentum=False),
        sched("OneCycleLR", "state_dict_resume", 100, groups=SGD_MOM, max_lr=0.1,
              total_steps=100, three_phase=True, resume_at=45),
        sched("OneCycleLR", "past_total_steps", 12, groups=SGD_MOM, max_lr=0.1,
              total_steps=10, expect_error="Tried to step"),
        sched("OneCycleLR", "no_total_steps", 5, groups=SGD_MOM, max_lr=0.1,
              expect_error="You must define either total_steps"),
        # composites: children are specs
        sched("ChainedScheduler", "constant_exponential", 100, TWO,
              schedulers=[child("ConstantLR", factor=0.5, total_iters=10),
                          child("ExponentialLR", gamma=0.97)]),
        sched("ChainedScheduler", "warmup_step_cyclic", 100, groups=SGD_MOM,
              schedulers=[child("LinearLR", start_factor=0.1, total_iters=10),
                          child("MultiStepLR", milestones=[30, 60], gamma=0.5),
                          child("MultiplicativeLR", lr_lambda=fn("constant", value=0.99))]),
        sched("ChainedScheduler", "state_dict_resume", 100, TWO,
              schedulers=[child("ConstantLR", factor=0.5, total_iters=10),
                          child("ExponentialLR", gamma=0.97)], resume_at=33),
        sched("SequentialLR", "warmup_cosine", 100, TWO,
              schedulers=[child("LinearLR", start_factor=0.1, total_iters=10),
                          child("CosineAnnealingLR", T_max=30)], milestones=[10]),
        sched("SequentialLR", "three_children", 100, TWO,
              schedulers=[child("ConstantLR", factor=0.3, total_iters=20),
                          child("ExponentialLR", gamma=0.95),
                          child("StepLR", step_size=10, gamma=0.5)], milestones=[15, 50]),
        sched("SequentialLR", "state_dict_resume", 100, TWO,
              schedulers=[child("LinearLR", start_factor=0.1, total_iters=10),
                          child("CosineAnnealingLR", T_max=30)], milestones=[10],
              resume_at=35),
        sched("SequentialLR", "wrong_milestones", 5, TWO,
              schedulers=[child("ConstantLR"), child("ExponentialLR", gamma=0.9)],
              milestones=[3, 6], expect_error="number of milestone points"),
        # SWALR
        sched("optim.swa_utils.SWALR", "cos", 100, TWO, swa_lr=0.05, anneal_epochs=20),
        sched("optim.swa_utils.SWALR", "linear", 100, TWO, swa_lr=[0.05, 0.001],
              anneal_epochs=30, anneal_strategy="linear"),
        sched("optim.swa_utils.SWALR", "anneal_epochs0", 30, TWO, swa_lr=0.05,
              anneal_epochs=0),
        sched("optim.swa_utils.SWALR", "state_dict_resume", 100, TWO, swa_lr=0.05,
              anneal_epochs=20, resume_at=12),
        sched("optim.swa_utils.SWALR", "bad_strategy", 5, swa_lr=0.05,
              anneal_strategy="exp", expect_error="anneal_strategy must be one of"),
    ]
    return cases


@cases_from(curated)
def test_scheduler(case, backend, conform):
    conform(case, backend)


@st.composite
def step_lr_cases(draw, dtype: str) -> Case:
    kw = dict(step_size=draw(st.integers(1, 12)), gamma=draw(st.floats(0.05, 1.0)))
    lrs = tuple(draw(st.lists(st.sampled_from([1.0, 0.1, 0.003]), min_size=1, max_size=3)))
    return step_lr(content_label("h", lrs=lrs, **kw), lrs=lrs, **kw).with_dtype(dtype)


@generated(dtypes=("float64",))
@given(data=st.data())
def test_scheduler_generated(data, dtype, backend, conform):
    conform(data.draw(step_lr_cases(dtype)), backend, generated=True)


@st.composite
def cyclic_cases(draw, dtype: str) -> Case:
    """CyclicLR / OneCycleLR over their modes, sizes and momentum cycling."""
    if draw(st.booleans()):
        kw = dict(base_lr=0.01, max_lr=draw(st.sampled_from([0.1, 1.0])),
                  step_size_up=draw(st.integers(1, 15)),
                  step_size_down=draw(st.one_of(st.none(), st.integers(1, 15))),
                  mode=draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
                  gamma=draw(st.sampled_from([0.9, 0.99, 1.0])))
        op = "CyclicLR"
    else:
        kw = dict(max_lr=draw(st.sampled_from([0.1, 1.0])), total_steps=100,
                  pct_start=draw(st.sampled_from([0.1, 0.25, 0.3, 0.5])),
                  anneal_strategy=draw(st.sampled_from(["cos", "linear"])),
                  three_phase=draw(st.booleans()),
                  div_factor=draw(st.sampled_from([5.0, 25.0])))
        op = "OneCycleLR"
    groups = SGD_MOM if draw(st.booleans()) else ADAM
    return sched(op, content_label("h", op=op, groups=groups, **kw), 100, groups=groups,
                 **kw).with_dtype(dtype)


@generated(dtypes=("float64",))
@given(data=st.data())
def test_cyclic_generated(data, dtype, backend, conform):
    conform(data.draw(cyclic_cases(dtype)), backend, generated=True)
