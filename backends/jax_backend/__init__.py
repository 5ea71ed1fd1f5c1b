"""The JAX adapter (``--backend=jax``): jax.numpy / jax.nn / jax.lax on the CPU, optax.

Layout, one module per family, one small function per op:

    modules.py      the module family driver: an op function per name, gradients by jax.vjp
    activations.py  activations (jax.nn)           layers.py   linear, normalization, distances
    spatial.py      convolutions (jax.lax.conv_general_dilated, NCHW kept at the boundary),
                    pooling, padding, resampling
    losses.py       losses                         sequence.py embedding, RNN/LSTM/GRU, attention
    init.py         nn.init.* (jax.nn.initializers, jax.random), default module init
    optim.py        optimizers (optax; hand-wired rules marked in their docstrings)
    schedules.py    learning-rate schedulers (optax.schedules where one exists)
    scenario.py     training loops: the op functions composed, jax.grad, optim.py's optax
                    chains, schedules.py's lr, one jitted train step

float64 runs in JAX's x64 mode (``jax_enable_x64``), switched on when the adapter is built.
Random ops draw from explicit jax.random keys: they are judged by the statistical checks, never
by bit-equality with torch. Where JAX/optax semantics differ from torch's, the case is a
documented deviation in backends/expectations/jax/ with its source.
"""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np

from ..contract import (Adapter, AdapterOptions, InitRequest, ModuleRequest, ModuleResult,
                        OptimizerRequest, OptimizerResult, ScenarioRequest, ScenarioResult,
                        SchedulerRequest, Support, Unsupported)

try:
    import jax
    import optax
    _IMPORT_ERROR = ""
except ImportError as _e:  # reported through available()
    jax = optax = None
    _IMPORT_ERROR = str(_e)

_EXPECTATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "expectations", "jax")

#: ops declared unsupported, with the reason (everything else is implemented)
_LATER = "not implemented in the jax adapter yet"
UNSUPPORTED: dict[str, str] = {
    **{f"nn.{n}": f"recurrent layers: {_LATER} (would be jax.lax.scan over the gate equations "
                 f"with torch's weight_ih/weight_hh/bias naming)"
       for n in ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")},
    **{f"nn.{n}": f"{_LATER} (jax has no multi-head attention module in its core; the "
                 f"functional nn.functional.scaled_dot_product_attention is implemented)"
       for n in ("MultiheadAttention", "Transformer", "TransformerEncoderLayer",
                 "TransformerDecoderLayer")},
    "nn.EmbeddingBag": f"{_LATER} (offsets/per_sample_weights/padding_idx bags, a segment_sum)",
    "nn.CTCLoss": f"{_LATER}: optax.ctc_loss takes logits with paddings, not torch's "
                  f"log_probs/lengths interface; mapping it is left for later",
    "nn.AdaptiveLogSoftmaxWithLoss": f"{_LATER} (no JAX equivalent; a composite of Linear "
                                     f"heads and log_softmax)",
    "nn.CrossMapLRN2d": "a legacy Lua-torch op whose forward is a running sum and whose "
                        "backward is not its VJP (see expectations/torch/normalization.toml); "
                        "JAX has no such op and the adapter does not emulate the quirk",
    "nn.FractionalMaxPool2d": "random pooling windows from torch's samples; JAX has no "
                              "fractional max-pooling; not implemented",
    "nn.FractionalMaxPool3d": "random pooling windows from torch's samples; JAX has no "
                              "fractional max-pooling; not implemented",
    "torchvision.transforms.ToTensor": "a torchvision (PIL/uint8) data transform, outside JAX",
    "torchvision.transforms.Normalize": "a torchvision data transform, outside JAX",
}


class JaxBackend(Adapter):
    name = "jax"
    expectations_path = _EXPECTATIONS

    def __init__(self, options: AdapterOptions | None = None):
        super().__init__(options)
        self._seed = 0
        if jax is not None:
            jax.config.update("jax_enable_x64", True)
            jax.config.update("jax_platforms", "cpu")

    # -- identity -----------------------------------------------------------------------
    def available(self) -> tuple[bool, str]:
        if jax is None:
            return False, f"jax/optax are not importable: {_IMPORT_ERROR}"
        return True, ""

    @property
    def framework_version(self) -> str:
        if jax is None:
            return "jax (not installed)"
        return f"jax {jax.__version__}, optax {optax.__version__}"

    @property
    def device(self) -> str:
        return f"cpu ({platform.machine()}, XLA CPU)"

    def settings(self) -> dict[str, Any]:
        if jax is None:
            return {}
        return {"jax_version": jax.__version__, "optax_version": optax.__version__,
                "jax_enable_x64": bool(jax.config.jax_enable_x64),
                "platform": jax.default_backend(),
                "jax_default_matmul_precision": jax.config.jax_default_matmul_precision,
                "xla_flags": os.environ.get("XLA_FLAGS", ""),
                "framework_defaults": self.options.framework_defaults}

    def supports(self, op: str, dtype: str) -> Support:
        if op in UNSUPPORTED:
            return Support(False, UNSUPPORTED[op])
        from . import init, modules, optim, scenario, schedules
        if scenario.supported(op):
            # the network, loss, optimizer and scheduler are data of the request: what the
            # adapter lacks among them is raised as Unsupported by run_scenario, with a reason
            return Support(True)
        if op in optim.UNSUPPORTED:
            return Support(False, optim.UNSUPPORTED[op])
        if op in schedules.UNSUPPORTED:
            return Support(False, schedules.UNSUPPORTED[op])
        if (modules.supported(op) or init.supported(op) or optim.supported(op)
                or schedules.supported(op)):
            return Support(True)
        return Support(False, f"the jax adapter does not implement {op}")

    def _next_seed(self) -> int:
        self._seed += 1
        return self._seed

    # -- families -----------------------------------------------------------------------
    def run_module(self, request: ModuleRequest) -> ModuleResult:
        from . import modules
        return modules.run(request, self._next_seed())

    def sample_init(self, request: InitRequest) -> np.ndarray:
        from . import init
        return init.sample_init(request)

    def sample_default_init(self, request) -> dict[str, np.ndarray]:
        from . import init
        return init.sample_default_init(request)

    def run_optimizer(self, request: OptimizerRequest) -> OptimizerResult:
        from . import optim
        return optim.run_optimizer(request)

    def run_scheduler(self, request: SchedulerRequest) -> dict[str, np.ndarray]:
        from . import schedules
        return schedules.run_scheduler(request)

    def run_scenario(self, request: ScenarioRequest) -> ScenarioResult:
        from . import scenario
        return scenario.run_scenario(request)

    def prepare_module(self, request: ModuleRequest):
        from . import modules
        first = ModuleRequest(request.op, request.kwargs, request.params, request.buffers,
                              request.steps[:1], request.training, request.dtype,
                              request.method)
        return lambda: modules.run(first, 0)

    def synchronize(self) -> None:
        return None


__all__ = ["JaxBackend", "Unsupported"]
