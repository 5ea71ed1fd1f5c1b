"""L-BFGS. Semantics: torch.optim.LBFGS docs and torch/optim/lbfgs.py (``LBFGS.step``,
``_strong_wolfe``, ``_cubic_interpolate``; itself after minFunc)."""

from __future__ import annotations

import math

import numpy as np

from ._common import as_f64


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, g1), (x2, f2, g2), clamped to ``bounds`` (default
    [min(x1, x2), max(x1, x2)]); the midpoint of the bounds when the cubic has no minimum."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Line search for a step t satisfying the strong Wolfe conditions
    f(x + t d) <= f + c1 t gtd and |g(x + t d) . d| <= -c2 gtd: a bracketing phase (extrapolate
    by cubic interpolation within [t + 0.01 (t - t_prev), 10 t]) then a zoom phase (cubic
    interpolation with a 10% safeguard). Returns (f_new, g_new, t, evaluations)."""
    d_norm = float(np.max(np.abs(d)))
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    bracket = bracket_f = bracket_g = bracket_gtd = None
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new, gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS:
    """One ``LBFGS.step(closure)``: up to ``max_iter`` L-BFGS iterations on the flattened
    concatenation x of all parameters.

    Protocol: ``step(params, closure_fn, state) -> (new_params, new_state, loss)`` where
    ``closure_fn(list_of_arrays) -> (loss, list_of_grads)`` is the objective, ``loss`` returned is
    the loss at the incoming params (what torch's ``step`` returns), and ``state`` is torch's
    state dict (``func_evals``, ``n_iter``, ``d``, ``t``, ``old_dirs``, ``old_stps``, ``ro``,
    ``H_diag``, ``prev_flat_grad``, ``prev_loss``, ``al``), empty before the first call.

    Each iteration (g the flat gradient at x):
    - stop at once if max|g| <= tolerance_grad (before any iteration);
    - direction: d = -g on the very first iteration; afterwards y = g - g_prev, s = t d_prev, and
      the pair is stored (dropping the oldest beyond history_size) only if y.s > 1e-10, with
      H_diag = y.s / y.y; d = -H g by the two-loop recursion with H0 = H_diag I;
    - step length t = min(1, 1 / sum|g|) * lr on the very first iteration, lr afterwards;
    - stop if g.d > -tolerance_change (not a descent direction);
    - line_search_fn None: x = x + t d and re-evaluate (not after the last of max_iter);
      'strong_wolfe': ``_strong_wolfe`` from t with max_ls = max_eval - evaluations so far;
    - stop on n_iter == max_iter, evaluations >= max_eval, max|g| <= tolerance_grad,
      max|t d| <= tolerance_change or |loss - prev_loss| < tolerance_change.
    """

    def __init__(self, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        self.lr, self.max_iter, self.max_eval = lr, max_iter, max_eval
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        self.history_size, self.line_search_fn = history_size, line_search_fn

    def step(self, params, closure_fn, state: dict):
        shapes = [np.shape(p) for p in params]
        sizes = [int(np.prod(s)) for s in shapes]

        def flat(arrays):
            return np.concatenate([as_f64(a).ravel() for a in arrays]) if arrays else np.zeros(0)

        def unflat(x):
            out, off = [], 0
            for shp, n in zip(shapes, sizes):
                out.append(x[off:off + n].reshape(shp).copy())
                off += n
            return out

        def evaluate(x):
            loss, grads = closure_fn(unflat(x))
            return float(loss), flat([np.zeros(s) if gr is None else gr
                                      for gr, s in zip(grads, shapes)])

        lr, max_iter, max_eval = self.lr, self.max_iter, self.max_eval
        tolerance_grad, tolerance_change = self.tolerance_grad, self.tolerance_change
        history_size = self.history_size
        state = dict(state)
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        x = flat(params)

        orig_loss, flat_grad = evaluate(x)
        loss = orig_loss
        current_evals = 1
        state["func_evals"] += 1
        if np.max(np.abs(flat_grad)) <= tolerance_grad:
            return unflat(x), state, orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs = list(state.get("old_dirs") or [])
        old_stps = list(state.get("old_stps") or [])
        ro = list(state.get("ro") or [])
        H_diag = state.get("H_diag")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
        al = list(state["al"]) if "al" in state else None

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / float(y @ y)
                num_old = len(old_dirs)
                if al is None:
                    al = [None] * history_size
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = float(old_stps[i] @ q) * ro[i]
                    q = q - al[i] * old_dirs[i]
                r = q * H_diag
                for i in range(num_old):
                    be_i = float(old_dirs[i] @ r) * ro[i]
                    r = r + (al[i] - be_i) * old_stps[i]
                d = r
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(np.sum(np.abs(flat_grad)))) * lr
            else:
                t = lr
            gtd = float(flat_grad @ d)
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if self.line_search_fn is not None:
                if self.line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")

                def obj_func(x0, step, direction):
                    return evaluate(x0 + step * direction)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                x = x + t * d
                opt_cond = np.max(np.abs(flat_grad)) <= tolerance_grad
            else:
                x = x + t * d
                opt_cond = False
                if n_iter != max_iter:
                    loss, flat_grad = evaluate(x)
                    opt_cond = np.max(np.abs(flat_grad)) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter:
                break
            if current_evals >= max_eval:
                break
            if opt_cond:
                break
            if np.max(np.abs(d * t)) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        if al is not None:
            state["al"] = al
        return unflat(x), state, orig_loss
