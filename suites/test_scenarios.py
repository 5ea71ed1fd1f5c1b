"""End-to-end training scenarios: layers, losses, optimizers, schedulers and modes together.

Ops that pass one at a time can still fail together: mode switching, state carried across
steps, weight decay inside the optimizer, buffers and parameters updated in the same step. Both
sides start from identical weights and data (and dropout masks) and are compared on the loss
curve, eval predictions, activation statistics, final parameters and buffers.

Tolerance: iterated(T, matmul(k)) for T optimizer steps (or layers, for the deep nets) of a
network whose longest contraction is k (docs/tolerances.md), measured normwise.
"""

import pytest

from harness.cases import Case, cases_from
from harness.tolerance import iterated, matmul

pytestmark = pytest.mark.nnconform_slow  # harness/plugin.py run_slow_first


def mlp(width: int = 200, depth: int = 3, dropout: float | None = None, bn: bool = False,
        in_features: int = 1, out_features: int = 1, bn_momentum: float | None = 0.1) -> list[dict]:
    layers, prev = [], in_features
    for _ in range(depth):
        layers.append({"op": "nn.Linear", "kwargs": {"in_features": prev, "out_features": width,
                                                     "bias": not bn}})
        if bn:
            layers.append({"op": "nn.BatchNorm1d", "kwargs": {"num_features": width,
                                                              "momentum": bn_momentum}})
        layers.append({"op": "nn.ReLU", "kwargs": {}})
        if dropout is not None:
            layers.append({"op": "nn.Dropout", "kwargs": {"p": dropout}})
        prev = width
    layers.append({"op": "nn.Linear", "kwargs": {"in_features": prev,
                                                 "out_features": out_features}})
    return layers


def lenet() -> list[dict]:
    """Conv2d-BatchNorm2d-ReLU-MaxPool2d twice, then Linear-BatchNorm1d-ReLU twice, then Linear.

    The layers before a batch norm have no bias: batch norm subtracts the mean, so such a bias
    has an exactly zero gradient and Adam, which normalises each update to about lr, would turn
    rounding noise into lr-sized steps that no two correct implementations share.
    """
    return [
        {"op": "nn.Conv2d", "kwargs": {"in_channels": 3, "out_channels": 6, "kernel_size": 5,
                                       "bias": False}},
        {"op": "nn.BatchNorm2d", "kwargs": {"num_features": 6}},
        {"op": "nn.ReLU", "kwargs": {}},
        {"op": "nn.MaxPool2d", "kwargs": {"kernel_size": 2}},
        {"op": "nn.Conv2d", "kwargs": {"in_channels": 6, "out_channels": 16, "kernel_size": 5,
                                       "bias": False}},
        {"op": "nn.BatchNorm2d", "kwargs": {"num_features": 16}},
        {"op": "nn.ReLU", "kwargs": {}},
        {"op": "nn.MaxPool2d", "kwargs": {"kernel_size": 2}},
        {"op": "nn.Flatten", "kwargs": {}},
        {"op": "nn.Linear", "kwargs": {"in_features": 400, "out_features": 120, "bias": False}},
        {"op": "nn.BatchNorm1d", "kwargs": {"num_features": 120}},
        {"op": "nn.ReLU", "kwargs": {}},
        {"op": "nn.Linear", "kwargs": {"in_features": 120, "out_features": 84, "bias": False}},
        {"op": "nn.BatchNorm1d", "kwargs": {"num_features": 84}},
        {"op": "nn.ReLU", "kwargs": {}},
        {"op": "nn.Linear", "kwargs": {"in_features": 84, "out_features": 10}},
    ]


MSE = {"op": "nn.MSELoss", "kwargs": {}}
CE = {"op": "nn.CrossEntropyLoss", "kwargs": {}}


def sgd(**kw) -> dict:
    return {"op": "optim.SGD", "kwargs": {"lr": 0.01, "momentum": 0.9, **kw}}


def scenario(label: str, steps: int, k: int, network: str = "mlp",
             dtypes: tuple[str, ...] | None = None, **extra) -> Case:
    return Case(op=f"scenario.{network}", family="scenario", label=label,
                rule=iterated(steps, matmul(k)), backward=False, dtypes=dtypes, extra=extra)


def regression(label: str, steps: int = 200, **kw) -> Case:
    """The MLP 1-200-200-200-1 with ReLU and MSELoss on 10 points of y = 1.5x + noise, then
    predictions on a test grid (eval mode)."""
    kw.setdefault("layers", mlp())
    kw.setdefault("optimizer", sgd())
    return scenario(label, steps, 200, "mlp_regression", loss=MSE, data="regression_1d", batch=10,
                    schedule=[("train", steps), ("eval", 1)], **kw)


def curated() -> list[Case]:
    return [
        regression("mlp_sgd_momentum"),
        regression("mlp_sgd_momentum_wd", optimizer=sgd(weight_decay=1e-2)),
        # float64 only: with dropout 0.5 the loss spikes (to ~17) and the float32 trajectory
        # leaves every float64 reference (seed 11: 4.8e5 eps), beyond what the perturbed
        # reference runs predict; the float64 twin passes on every seed
        regression("mlp_dropout_masks", layers=mlp(dropout=0.5), dtypes=("float64",)),
        regression("mlp_steplr", optimizer=sgd(), steps=60,
                   scheduler={"op": "optim.lr_scheduler.StepLR",
                              "kwargs": {"step_size": 10, "gamma": 0.1}}),
        regression("mlp_resume_mid_run", steps=40, resume_at=20),
        # momentum=None: after one training step the running statistics are that batch's, so
        # eval mode normalises like training did; with the default momentum 0.1 the eval pass
        # multiplies the scale layer after layer and overflows every dtype by layer ~50, where
        # comparing infinities says nothing. lr=0: the step updates the buffers only, because
        # gradients through 100 batch-norm layers at initialisation explode (Yang et al.,
        # "A mean field theory of batch normalization", 2019) and any step that moves the
        # weights makes the eval pass overflow as well
        scenario("deep_bn_100", 100, 256, "deep_mlp",
                 layers=mlp(width=256, depth=100, bn=True, in_features=256, out_features=256,
                            bn_momentum=None),
                 loss=MSE, optimizer=sgd(lr=0.0), data="gaussian_regression", batch=16,
                 features=256, schedule=[("train", 1), ("eval", 1)],
                 record_activation_std=True),
        scenario("deep_plain_100", 100, 256, "deep_mlp", layers=mlp(width=256, depth=100,
                                                         in_features=256, out_features=256),
                 loss=MSE, optimizer=sgd(lr=0.001), data="gaussian_regression", batch=16,
                 features=256, schedule=[("train", 1), ("eval", 1)],
                 record_activation_std=True),
        # A small MLP with batch norm, switching train/eval every 5 steps, SGD driven by StepLR
        scenario("bn_mlp_switching_steplr", 20, 64, "bn_mlp",
                 layers=mlp(width=64, depth=2, bn=True, in_features=8, out_features=8),
                 loss=MSE, optimizer=sgd(lr=0.05), data="gaussian_regression", batch=16,
                 features=8, schedule=[("train", 5), ("eval", 1)] * 4,
                 scheduler={"op": "optim.lr_scheduler.StepLR",
                            "kwargs": {"step_size": 10, "gamma": 0.1}}),
        scenario("mlp_adam_classes", 50, 64, "mlp_classes",
                 layers=mlp(width=64, depth=2, in_features=8, out_features=10), loss=CE,
                 optimizer={"op": "optim.Adam", "kwargs": {"lr": 1e-3, "eps": 1e-3}},
                 data="gaussian_classes", batch=32, features=8,
                 schedule=[("train", 25), ("eval", 1), ("train", 25), ("eval", 1)]),
        # LeNet in float64 only: Adam's first updates are lr * sign(g) for every element, so a
        # gradient that is zero up to float32 rounding (conv weights before batch norm have
        # many) gets an lr-sized step of arbitrary sign; no float64 reference reproduces a
        # correct float32 trajectory to any fixed tolerance (seen on 40% of seeds).
        scenario("lenet_adam_train_eval", 20, 400, "lenet", dtypes=("float64",), layers=lenet(),
                 loss=CE,
                 optimizer={"op": "optim.Adam", "kwargs": {"lr": 0.01}}, data="images",
                 batch=8, schedule=[("train", 5), ("eval", 1)] * 4),
        scenario("lenet_adam_resume", 10, 400, "lenet", dtypes=("float64",), layers=lenet(),
                 loss=CE,
                 optimizer={"op": "optim.Adam", "kwargs": {"lr": 0.01}}, data="images",
                 batch=8, schedule=[("train", 5), ("eval", 1)] * 2, resume_at=6),
        # resume between two StepLR decays: the scheduler's state (last_epoch) must come back
        # with the optimizer's, or the next decay comes late (tools/mutants.py,
        # mutant-scheduler_resume_ignored survived every other scenario)
        regression("mlp_steplr_resume", optimizer=sgd(), steps=40, resume_at=15,
                   scheduler={"op": "optim.lr_scheduler.StepLR",
                              "kwargs": {"step_size": 10, "gamma": 0.1}}),
    ]


@cases_from(curated)
def test_scenario(case, backend, conform):
    conform(case, backend)
