"""Optimizers: every torch.optim optimizer over 10-step trajectories of parameters and named
state, with every flag and implementation variant (for-loop, foreach, fused); training-loop
semantics (zero_grad, add_param_group, state_dict round trip, grad None); gradient clipping
(nn.utils.clip_grad_norm_ / clip_grad_value_) and optim.swa_utils.AveragedModel.

Gradients are a deterministic sequence given to both sides; LBFGS instead evaluates a named
smooth objective natively on each side through its closure."""

from hypothesis import given, strategies as st

from harness.cases import Case, cases_from, generated, content_label
from harness.tolerance import elementwise, iterated, matmul, reduction

SHAPES = {"weight": (3, 4), "bias": (4,), "scalar": ()}
STEPS = 10


def optc(op: str, label: str, groups=None, grads: str = "normal", steps: int = STEPS,
         shapes=SHAPES, rule=None, extra=None, **kwargs) -> Case:
    """An optimizer trajectory case; per-element updaters take iterated(steps, elementwise)."""
    expect_error = kwargs.pop("expect_error", "")
    return Case(op=op, family="optim", label=label, kwargs=kwargs,
                rule=rule or iterated(steps, elementwise()), expect_error=expect_error,
                extra={"shapes": shapes, "num_steps": steps, "groups": groups, "grads": grads,
                       **(extra or {})})


def sgd(label: str, groups=None, grads: str = "normal", steps: int = STEPS, **kwargs) -> Case:
    return optc("optim.SGD", label, groups, grads, steps, **kwargs)


TWO_GROUPS = [{"params": ["weight"], "lr": 0.05, "weight_decay": 0.1},
              {"params": ["bias", "scalar"], "lr": 0.2}]


def two_groups(lr: float, **hyper):
    """Two groups with different lr and weight_decay (or, for optimizers without weight decay,
    different ``hyper`` in the second group)."""
    if hyper:
        return [{"params": ["weight"], "lr": lr}, {"params": ["bias", "scalar"], "lr": lr * 2,
                                                   **hyper}]
    return [{"params": ["weight"], "lr": lr, "weight_decay": 0.1},
            {"params": ["bias", "scalar"], "lr": lr * 2, "weight_decay": 0.0}]


def sgd_cases() -> list[Case]:
    return [
        sgd("lr0.1", lr=0.1),
        sgd("momentum0.9", lr=0.1, momentum=0.9),
        sgd("worked_ones_momentum0.9", grads="ones", lr=0.1, momentum=0.9),
        sgd("dampening0.5", lr=0.1, momentum=0.9, dampening=0.5),
        sgd("nesterov", lr=0.1, momentum=0.9, nesterov=True),
        sgd("weight_decay", lr=0.1, weight_decay=0.01),
        sgd("momentum_weight_decay", lr=0.05, momentum=0.5, weight_decay=0.1),
        sgd("maximize", lr=0.1, momentum=0.9, maximize=True),
        sgd("foreach", lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01, foreach=True),
        sgd("for_loop", lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01, foreach=False),
        sgd("fused", lr=0.1, momentum=0.9, weight_decay=0.01, fused=True),
        sgd("two_groups", groups=TWO_GROUPS, lr=0.1, momentum=0.9),
        sgd("nesterov_dampening", lr=0.1, momentum=0.9, dampening=0.1, nesterov=True,
            expect_error="Nesterov momentum requires"),
        sgd("negative_lr", lr=-0.1, expect_error="Invalid learning rate"),
        # the worked example of the issue: one step on a 2x2 weight with gradient all ones
        optc("optim.SGD", "worked_2x2_one_step", grads="ones", steps=1,
             shapes={"weight": (2, 2)}, lr=0.1),
        sgd("fused_nesterov_maximize", lr=0.1, momentum=0.9, nesterov=True, maximize=True,
            fused=True),
        sgd("foreach_dampening", lr=0.1, momentum=0.9, dampening=0.5, foreach=True),
    ]


#: (op, base kwargs, [(label, kwargs)], implementation variants, group hyper for the second
#: group or None for weight_decay)
VARIANTS = {"foreach": dict(foreach=True), "for_loop": dict(foreach=False)}
FUSED = dict(fused=True)


def adam_like(op: str, base: dict, flags: list, fused: bool, capturable: bool = True,
              group_hyper=None) -> list[Case]:
    name = op.removeprefix("optim.")
    cases = [optc(op, "default", **base)]
    cases += [optc(op, label, **{**base, **kw}) for label, kw in flags]
    all_flags = {k: v for _, kw in flags for k, v in kw.items()
                 if k not in ("foreach", "fused", "betas", "eps") and not isinstance(v, str)}
    for variant, vk in VARIANTS.items():
        cases.append(optc(op, variant, **{**base, **vk}))
        cases.append(optc(op, f"{variant}_all_flags", **{**base, **all_flags, **vk}))
    if fused:
        cases.append(optc(op, "fused", **{**base, **FUSED}))
        cases.append(optc(op, "fused_all_flags", **{**base, **all_flags, **FUSED}))
    if capturable:
        cases.append(optc(op, "capturable", **{**base, "capturable": True}))
    lr = base.get("lr", 0.1)
    cases.append(optc(op, "two_groups", groups=two_groups(lr, **(group_hyper or {})),
                      **{k: v for k, v in base.items() if k != "lr"}))
    cases.append(optc(op, "state_dict_resume", extra={"resume_at": 5},
                      **{**base, **all_flags}))
    cases.append(optc(op, "grad_none", extra={"none_at": {"bias": [2, 3, 7]},
                                              "no_grad": ["scalar"]}, **base))
    assert all(c.op.endswith(name) for c in cases)
    return cases


def adam_cases() -> list[Case]:
    base = dict(lr=0.1)
    flags = [("betas", dict(betas=(0.8, 0.95))), ("eps1e3", dict(eps=1e-3)),
             ("weight_decay", dict(weight_decay=0.1)), ("amsgrad", dict(amsgrad=True)),
             ("maximize", dict(maximize=True)),
             ("decoupled_weight_decay", dict(weight_decay=0.1, decoupled_weight_decay=True)),
             ("amsgrad_weight_decay_maximize", dict(amsgrad=True, weight_decay=0.1,
                                                     maximize=True))]
    cases = adam_like("optim.Adam", base, flags, fused=True)
    cases += [
        optc("optim.Adam", "fused_amsgrad", lr=0.1, amsgrad=True, fused=True),
        optc("optim.Adam", "foreach_amsgrad", lr=0.1, amsgrad=True, foreach=True),
        optc("optim.Adam", "fused_decoupled", lr=0.1, weight_decay=0.1,
             decoupled_weight_decay=True, fused=True),
        optc("optim.Adam", "bad_beta", lr=0.1, betas=(1.0, 0.999),
             expect_error="Invalid beta parameter at index 0"),
        optc("optim.Adam", "bad_eps", lr=0.1, eps=-1.0, expect_error="Invalid epsilon value"),
        optc("optim.Adam", "fused_and_foreach", lr=0.1, fused=True, foreach=True,
             expect_error="cannot be `True` together"),
        optc("optim.Adam", "negative_weight_decay", lr=0.1, weight_decay=-0.1,
             expect_error="Invalid weight_decay value"),
    ]
    flags_w = [("betas", dict(betas=(0.8, 0.95))), ("weight_decay0.1", dict(weight_decay=0.1)),
               ("amsgrad", dict(amsgrad=True)), ("maximize", dict(maximize=True)),
               ("eps1e3", dict(eps=1e-3))]
    cases += adam_like("optim.AdamW", base, flags_w, fused=True)
    cases += [optc("optim.AdamW", "fused_amsgrad", lr=0.1, amsgrad=True, weight_decay=0.1,
                   fused=True)]
    return cases


def other_cases() -> list[Case]:
    cases = []
    cases += adam_like("optim.Adamax", dict(lr=0.1), [
        ("betas", dict(betas=(0.8, 0.95))), ("eps1e2", dict(eps=1e-2)),
        ("weight_decay", dict(weight_decay=0.1)), ("maximize", dict(maximize=True))],
        fused=False)
    cases += adam_like("optim.NAdam", dict(lr=0.1), [
        ("momentum_decay", dict(momentum_decay=0.1)), ("betas", dict(betas=(0.8, 0.95))),
        ("weight_decay", dict(weight_decay=0.1)),
        ("decoupled_weight_decay", dict(weight_decay=0.1, decoupled_weight_decay=True)),
        ("maximize", dict(maximize=True))], fused=False)
    cases += adam_like("optim.RAdam", dict(lr=0.1), [
        ("beta2_0.9", dict(betas=(0.9, 0.9))), ("weight_decay", dict(weight_decay=0.1)),
        ("decoupled_weight_decay", dict(weight_decay=0.1, decoupled_weight_decay=True)),
        ("maximize", dict(maximize=True)), ("eps1e3", dict(eps=1e-3))], fused=False)
    cases += [optc("optim.RAdam", "rectified_early", lr=0.1, betas=(0.9, 0.8), steps=12)]
    cases += adam_like("optim.RMSprop", dict(lr=0.01), [
        ("alpha0.9", dict(alpha=0.9)), ("eps1e3", dict(eps=1e-3)),
        ("centered", dict(centered=True)), ("momentum", dict(momentum=0.9)),
        ("centered_momentum", dict(centered=True, momentum=0.9)),
        ("weight_decay", dict(weight_decay=0.1)), ("maximize", dict(maximize=True))],
        fused=False)
    cases += adam_like("optim.Adagrad", dict(lr=0.1), [
        ("lr_decay", dict(lr_decay=0.1)),
        ("initial_accumulator_value", dict(initial_accumulator_value=0.5)),
        ("eps1e2", dict(eps=1e-2)), ("weight_decay", dict(weight_decay=0.1)),
        ("maximize", dict(maximize=True))], fused=True, capturable=False)
    cases += adam_like("optim.Adadelta", dict(lr=0.5), [
        ("rho0.5", dict(rho=0.5)), ("eps1e3", dict(eps=1e-3)),
        ("weight_decay", dict(weight_decay=0.1)), ("maximize", dict(maximize=True))],
        fused=False)
    cases += adam_like("optim.ASGD", dict(lr=0.05), [
        ("lambd", dict(lambd=0.01)), ("alpha0.5", dict(alpha=0.5)), ("t0_3", dict(t0=3)),
        ("weight_decay", dict(weight_decay=0.1)), ("maximize", dict(maximize=True))],
        fused=False)
    cases += adam_like("optim.Rprop", dict(lr=0.01), [
        ("etas", dict(etas=(0.3, 1.5))), ("step_sizes", dict(step_sizes=(5e-3, 0.02))),
        ("maximize", dict(maximize=True))], fused=False,
        group_hyper=dict(etas=(0.4, 1.3)))
    cases += [optc("optim.Rprop", "bad_etas", etas=(1.2, 0.5), expect_error="Invalid eta values")]
    shapes3 = {"weight": (2, 3, 4), "matrix": (4, 5), "bias": (4,), "scalar": ()}
    for label, kw in [("default", {}), ("lr0.1", dict(lr=0.1)),
                      ("beta2_decay", dict(lr=0.1, beta2_decay=-0.5)),
                      ("eps", dict(lr=0.1, eps=(1e-20, 1e-2))), ("d2", dict(lr=0.1, d=2.0)),
                      ("weight_decay", dict(lr=0.1, weight_decay=0.1)),
                      ("maximize", dict(lr=0.1, maximize=True)),
                      ("foreach", dict(lr=0.1, weight_decay=0.1, foreach=True)),
                      ("for_loop", dict(lr=0.1, weight_decay=0.1, foreach=False)),
                      ("state_dict_resume", dict(lr=0.1, extra={"resume_at": 5}))]:
        cases.append(optc("optim.Adafactor", label, shapes=shapes3, **kw))
    cases += [optc("optim.Adafactor", "two_groups", shapes=shapes3,
                   groups=[{"params": ["weight", "matrix"], "lr": 0.05, "weight_decay": 0.1},
                           {"params": ["bias", "scalar"], "lr": 0.2}]),
              optc("optim.Adafactor", "bad_d", d=0.5, expect_error="Clipping threshold d")]
    return cases


MUON_SHAPES = {"wide": (4, 6), "tall": (5, 3)}


def muon_cases() -> list[Case]:
    # Newton-Schulz over k = the longer side (6): matmul-class error per step
    rule = iterated(STEPS, matmul(6))

    def muon(label, **kw):
        return optc("optim.Muon", label, shapes=MUON_SHAPES, rule=rule, **kw)
    return [
        muon("default", lr=0.02), muon("no_nesterov", lr=0.02, nesterov=False),
        muon("momentum0.5", lr=0.02, momentum=0.5), muon("ns_steps3", lr=0.02, ns_steps=3),
        muon("ns_coefficients", lr=0.02, ns_coefficients=(2.0, -1.5, 0.5)),
        muon("eps", lr=0.02, eps=1e-3),
        muon("adjust_lr_match_rms_adamw", lr=0.02, adjust_lr_fn="match_rms_adamw"),
        muon("adjust_lr_original", lr=0.02, adjust_lr_fn="original"),
        muon("weight_decay0", lr=0.02, weight_decay=0.0),
        muon("two_groups", groups=[{"params": ["wide"], "lr": 0.02, "weight_decay": 0.1},
                                   {"params": ["tall"], "lr": 0.05, "weight_decay": 0.0}]),
        muon("state_dict_resume", lr=0.02, extra={"resume_at": 5}),
        optc("optim.Muon", "bad_one_d_param", lr=0.02, shapes={"bias": (4,)},
             expect_error="only supports 2D parameters"),
    ]


SPARSE_SHAPES = {"embedding": (6, 3), "table": (5,)}


def sparse_adam_cases() -> list[Case]:
    def sparse(label, **kw):
        extra = {"sparse": kw.pop("density", 0.5), **kw.pop("extra", {})}
        return optc("optim.SparseAdam", label, shapes=SPARSE_SHAPES, extra=extra, **kw)
    return [
        sparse("default", lr=0.1), sparse("betas", lr=0.1, betas=(0.8, 0.95)),
        sparse("eps1e3", lr=0.1, eps=1e-3), sparse("maximize", lr=0.1, maximize=True),
        sparse("dense_mask", lr=0.1, density=1.0), sparse("sparse_mask", lr=0.1, density=0.2),
        sparse("two_groups", groups=[{"params": ["embedding"], "lr": 0.05},
                                     {"params": ["table"], "lr": 0.2, "betas": (0.8, 0.9)}]),
        sparse("state_dict_resume", lr=0.1, extra={"resume_at": 5}),
        sparse("bad_lr", lr=0.0, expect_error="Invalid learning rate"),
    ]


LBFGS_SHAPES = {"weight": (3, 4), "bias": (4,)}


TOLERANCE_GRAD = 1.0


def lbfgs_cases() -> list[Case]:
    n = 16

    def lbfgs(label, max_iter=1, c=0.1, eig=(0.1, 10.0), steps=STEPS, lr=0.2, **kw):
        # every step runs up to max_iter iterations of dot products over all n parameters.
        # The iterated rule presumes a map that does not amplify rounding errors; L-BFGS near
        # convergence does (gradient differences cancel), so the cases take damped steps
        # (lr 0.2) on a well-posed objective and stay far from convergence
        return optc("optim.LBFGS", label, shapes=LBFGS_SHAPES, steps=steps,
                    rule=iterated(steps * max_iter, matmul(n)),
                    extra={"objective": {"name": "quadratic_quartic", "eig": eig, "c": c},
                           **kw.pop("extra", {})}, max_iter=max_iter, lr=lr, **kw)
    return [
        lbfgs("max_iter1"), lbfgs("max_iter2", max_iter=2),
        lbfgs("max_iter20_default", max_iter=20, steps=1, lr=0.1),
        lbfgs("history_size2", history_size=2),
        lbfgs("strong_wolfe", line_search_fn="strong_wolfe"),
        lbfgs("strong_wolfe_lr1", line_search_fn="strong_wolfe", lr=1.0, steps=5),
        lbfgs("strong_wolfe_history2", line_search_fn="strong_wolfe", history_size=2, c=0.3),
        lbfgs("tolerance_grad", tolerance_grad=TOLERANCE_GRAD, max_iter=5, steps=4),
        lbfgs("quadratic_only", c=0.0),
        lbfgs("max_eval", max_eval=3, max_iter=5, steps=4),
        lbfgs("state_dict_resume", max_iter=2, extra={"resume_at": 5}),
        lbfgs("bad_lr", lr=-1.0, expect_error="Invalid learning rate"),
    ]


def semantics_cases() -> list[Case]:
    none_at = {"bias": [3, 4, 8]}
    return [
        optc("optim.SGD", "zero_grad_set_to_none", lr=0.1, momentum=0.9, weight_decay=0.1,
             extra={"zero_grad": True, "none_at": none_at}),
        optc("optim.SGD", "zero_grad_zeros", lr=0.1, momentum=0.9, weight_decay=0.1,
             extra={"zero_grad": False, "none_at": none_at}),
        optc("optim.Adam", "zero_grad_set_to_none", lr=0.1,
             extra={"zero_grad": True, "none_at": none_at}),
        optc("optim.Adam", "zero_grad_zeros", lr=0.1,
             extra={"zero_grad": False, "none_at": none_at}),
        optc("optim.SGD", "add_param_group", lr=0.1, momentum=0.9, groups=TWO_GROUPS,
             extra={"add_group_at": 4}),
        optc("optim.Adam", "add_param_group", lr=0.1, groups=two_groups(0.1),
             extra={"add_group_at": 4}),
        optc("optim.AdamW", "add_param_group_resume", lr=0.1, groups=two_groups(0.1),
             extra={"add_group_at": 3, "resume_at": 6}),
        sgd("state_dict_resume", lr=0.1, momentum=0.9, nesterov=True, extra={"resume_at": 5}),
        optc("optim.SGD", "state_dict_resume_fused", lr=0.1, momentum=0.9, fused=True,
             extra={"resume_at": 5}),
        optc("optim.Adam", "state_dict_resume_fused_amsgrad", lr=0.1, amsgrad=True, fused=True,
             extra={"resume_at": 5}),
        optc("optim.SGD", "grad_none", lr=0.1, momentum=0.9,
             extra={"none_at": {"bias": [2, 3, 7]}, "no_grad": ["scalar"]}),
    ]


CLIP_SHAPES = {"weight": (3, 4), "bias": (4,), "scalar": ()}
N_CLIP = 17


def clip(op: str, label: str, steps: int = STEPS, extra=None, **kw) -> Case:
    # the total norm is a reduction over all N_CLIP gradient entries, then one scaling per step
    return optc(f"nn.utils.{op}", label, steps=steps, shapes=CLIP_SHAPES,
                rule=iterated(steps, reduction(N_CLIP)),
                extra={"optimizer_kwargs": {"lr": 0.1, "momentum": 0.5}, **(extra or {})}, **kw)


def clip_cases() -> list[Case]:
    norm = "clip_grad_norm_"
    cases = []
    for nt, label in [(2.0, "norm2"), (1.0, "norm1"), (float("inf"), "norm_inf")]:
        cases += [clip(norm, f"{label}_max1", max_norm=1.0, norm_type=nt),
                  clip(norm, f"{label}_foreach", max_norm=1.0, norm_type=nt, foreach=True),
                  clip(norm, f"{label}_for_loop", max_norm=1.0, norm_type=nt, foreach=False)]
    cases += [
        clip(norm, "no_clipping", max_norm=1e3),
        clip(norm, "grad_none", max_norm=1.0, extra={"none_at": {"bias": [1, 2]}}),
        clip(norm, "error_if_nonfinite", max_norm=1.0, error_if_nonfinite=True, steps=2,
             extra={"nonfinite": [(1, "weight", float("inf"))]}, expect_error="non-finite"),
        clip(norm, "nonfinite_inf_no_error", max_norm=1.0, steps=2,
             extra={"nonfinite": [(1, "weight", float("inf"))],
                    "optimizer_kwargs": {"lr": 0.1}}),
        clip(norm, "nonfinite_nan_no_error", max_norm=1.0, steps=2,
             extra={"nonfinite": [(1, "bias", float("nan"))], "optimizer_kwargs": {"lr": 0.1}}),
        clip(norm, "inf_norm_error_if_nonfinite_finite", max_norm=0.5,
             norm_type=float("inf"), error_if_nonfinite=True),
    ]
    value = "clip_grad_value_"
    cases += [clip(value, "clip0.5", clip_value=0.5), clip(value, "clip2", clip_value=2.0),
              clip(value, "foreach", clip_value=0.5, foreach=True),
              clip(value, "for_loop", clip_value=0.5, foreach=False),
              clip(value, "grad_none", clip_value=0.5, extra={"none_at": {"bias": [1, 2]}})]
    return cases


def averaged(label: str, extra=None, **kw) -> Case:
    return optc("optim.swa_utils.AveragedModel", label,
                extra={"optimizer_kwargs": {"lr": 0.1, "momentum": 0.9}, "average_start": 3,
                       "buffers": {"running_mean": (4,)}, **(extra or {})}, **kw)


def averaging_cases() -> list[Case]:
    ema = {"fn": "get_ema_avg_fn", "kwargs": {"decay": 0.9}}
    ema_multi = {"fn": "get_ema_multi_avg_fn", "kwargs": {"decay": 0.9}}
    return [
        averaged("swa"), averaged("swa_use_buffers", use_buffers=True),
        averaged("swa_multi", multi_avg_fn={"fn": "get_swa_multi_avg_fn", "kwargs": {}}),
        averaged("ema", avg_fn=ema), averaged("ema_use_buffers", avg_fn=ema, use_buffers=True),
        averaged("ema_multi", multi_avg_fn=ema_multi),
        averaged("ema_multi_use_buffers", multi_avg_fn=ema_multi, use_buffers=True),
        averaged("swa_int_buffer", use_buffers=True,
                 extra={"buffers": {"running_mean": (4,), "count": "int"}}),
        averaged("swa_from_start", extra={"average_start": 0}),
        averaged("state_dict_resume", avg_fn=ema, extra={"resume_at": 5}),
        averaged("avg_and_multi", avg_fn=ema, multi_avg_fn=ema_multi,
                 expect_error="Only one of avg_fn and multi_avg_fn"),
    ]


def curated() -> list[Case]:
    return (sgd_cases() + adam_cases() + other_cases() + muon_cases() + sparse_adam_cases()
            + lbfgs_cases() + semantics_cases() + clip_cases() + averaging_cases())


@cases_from(curated)
def test_optimizer(case, backend, conform):
    conform(case, backend)


@st.composite
def sgd_cases_drawn(draw, dtype: str) -> Case:
    momentum = draw(st.sampled_from([0.0, 0.5, 0.9]))
    kw = dict(lr=draw(st.sampled_from([0.01, 0.1, 0.5])), momentum=momentum,
              dampening=0.0 if momentum == 0 else draw(st.sampled_from([0.0, 0.3])),
              weight_decay=draw(st.sampled_from([0.0, 1e-2])), maximize=draw(st.booleans()),
              foreach=draw(st.booleans()))
    kw["nesterov"] = kw["dampening"] == 0 and momentum > 0 and draw(st.booleans())
    return sgd(content_label("h", **kw), **kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_optimizer_generated(data, dtype, backend, conform):
    conform(data.draw(sgd_cases_drawn(dtype)), backend, generated=True)


@st.composite
def adam_family_cases(draw, dtype: str) -> Case:
    """Adam / AdamW / NAdam / RAdam / Adamax over betas, eps, weight decay and variants."""
    op = draw(st.sampled_from(["optim.Adam", "optim.AdamW", "optim.NAdam", "optim.RAdam",
                               "optim.Adamax"]))
    kw = dict(lr=draw(st.sampled_from([0.01, 0.1])),
              # NAdam with beta1 = 0 has an exact mu_product: no float64 deviation to show
              betas=(draw(st.sampled_from([0.5, 0.9] if op == "optim.NAdam"
                                          else [0.0, 0.5, 0.9])),
                     draw(st.sampled_from([0.9, 0.99, 0.999]))),
              eps=draw(st.sampled_from([1e-8, 1e-3])),
              weight_decay=draw(st.sampled_from([0.0, 0.1])), maximize=draw(st.booleans()))
    variant = draw(st.sampled_from(["foreach", "for_loop"]
                                   + (["fused"] if op in ("optim.Adam", "optim.AdamW") else [])))
    kw.update({"foreach": dict(foreach=True), "for_loop": dict(foreach=False),
               "fused": dict(fused=True)}[variant])
    if op in ("optim.Adam", "optim.AdamW"):
        kw["amsgrad"] = draw(st.booleans())
    if op in ("optim.NAdam", "optim.RAdam"):
        kw["decoupled_weight_decay"] = draw(st.booleans())
    return optc(op, content_label("h", **kw), **kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_adam_family_generated(data, dtype, backend, conform):
    conform(data.draw(adam_family_cases(dtype)), backend, generated=True)
