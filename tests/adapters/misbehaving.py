"""Deliberately broken adapters: the harness must record each failure mode and go on."""

import numpy as np

from backends.contract import ModuleResult, StepResult
from backends.torch_backend import TorchCPU


class Raising(TorchCPU):
    name = "raising"

    def run_module(self, request):
        raise ZeroDivisionError("boom")


class NaNs(TorchCPU):
    name = "nans"

    def run_module(self, request):
        res = super().run_module(request)
        for st in res.steps:
            st.outputs = tuple(np.full_like(o, np.nan, dtype=np.float64) for o in st.outputs)
        return res


class WrongShape(TorchCPU):
    name = "wrong-shape"

    def run_module(self, request):
        res = super().run_module(request)
        return ModuleResult([StepResult(outputs=tuple(o.reshape(-1)[:-1] if o.size > 1
                                                      else np.zeros(3) for o in st.outputs),
                                        input_grads=st.input_grads,
                                        param_grads=st.param_grads, buffers=st.buffers)
                             for st in res.steps])


class NotAnAdapter:
    name = "nope"


class Hanging(TorchCPU):
    name = "hanging"

    def run_module(self, request):
        import time
        time.sleep(600)


class Crashing(TorchCPU):
    """Kills its own process, as a segfaulting framework would (run it under -n 2)."""

    name = "crashing"

    def run_module(self, request):
        if request.kwargs.get("bias") is False:
            import os
            os._exit(3)
        return super().run_module(request)


class WrongDtype(TorchCPU):
    name = "wrong-dtype"

    def run_module(self, request):
        res = super().run_module(request)
        for st in res.steps:
            st.outputs = tuple(np.full(o.shape, "x", dtype=object) for o in st.outputs)
        return res


class IsolatingCPU(TorchCPU):
    """torch-cpu with torch-cuda's isolation of cases that must raise (child process)."""

    name = "isolating"
    isolates_expected_errors = True

    def run_isolated(self, call, request):
        from backends.torch_backend import TorchCUDA
        return TorchCUDA.run_isolated(self, call, request)
