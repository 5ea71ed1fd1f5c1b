"""nnconform's reference: NumPy float64, derived by hand, no framework and no autograd.

Sub-packages mirror the public surface users know:

- ``reference.functional``: ``torch.nn.functional`` names; every differentiable op ``f`` has a
  hand-derived vector-Jacobian product ``f_backward`` beside it.
- ``reference.nn``: ``torch.nn`` module names; pure classes holding only hyperparameters, state
  (parameters, buffers) goes in and comes out (see ``reference.nn.base.Module``).
- ``reference.init``: ``torch.nn.init`` names (samplers with a NumPy generator plus the exact
  target distribution).
- ``reference.optim``: ``torch.optim`` names (pure steps) and ``reference.optim.lr_scheduler``.

This package imports nothing but NumPy and the standard library (enforced by tests/test_layers.py).
"""
