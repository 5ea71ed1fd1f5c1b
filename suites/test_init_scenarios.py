"""Why initialization matters: 100 bias-free Linear layers of 256 units, batch 16, weights drawn
by the harness from an initializer (the same rounded values go to the backend and the
reference), and the standard deviation of every layer's output.

- N(0, 1) weights, no activation: the std grows by sqrt(256) = 16 per layer, so float32
  overflows to inf around layer 31 (16^32 = 2^128) and the next layer turns inf into nan; in
  float64 the std reaches ~1e120 at layer 100 and stays finite;
- N(0, 1/256) weights (std sqrt(1/256)), no activation: the std stays near 1 over 100 layers;
- tanh with xavier_uniform_ at tanh's gain 5/3: the std settles near 0.65;
- ReLU with kaiming_normal_ (relu): the std stays of order 1.

The backend runs the stack as an ``nn.Sequential`` (a ``ScenarioRequest`` with one eval step
and ``record_activation_std``) and returns the std of every module output; the reference
computes them in float64 on the same rounded inputs. They must agree under
``tolerance.depth_profile`` (docs/tolerances.md): the same overflow point (by the stated rule)
and, where both are finite, the same stds within the rule's allowance. The worked-example facts
themselves are checked on the reference in tests/reference/test_init.py.
"""

import pytest

from harness.cases import Case, cases_from
from harness.tolerance import depth_profile

pytestmark = pytest.mark.nnconform_slow  # harness/plugin.py run_slow_first

DEPTH, WIDTH, BATCH = 100, 256, 16


def depth(init: str, label: str, activation: str | None, **kwargs) -> Case:
    return Case(op=f"nn.init.{init}", family="init", label=f"depth{DEPTH}_{label}",
                rule=depth_profile(DEPTH, WIDTH, BATCH * WIDTH), kwargs=kwargs,
                extra={"depth": DEPTH, "width": WIDTH, "batch": BATCH,
                       "activation": activation})


def curated() -> list[Case]:
    return [
        depth("normal_", "std1_linear_overflows", None, std=1.0),
        depth("normal_", "std1over16_linear", None, std=1.0 / 16),
        depth("xavier_uniform_", "tanh_gain", "nn.Tanh", gain=5.0 / 3),
        depth("kaiming_normal_", "relu", "nn.ReLU", nonlinearity="relu"),
    ]


@cases_from(curated)
def test_init_scenario(case, backend, conform):
    conform(case, backend)
