"""User functions with the signatures the broadcasting rules name, and helpers.

Shared by the pure ``test_broadcast_*`` tests and the end-to-end
``test_pmap_broadcast*`` tests. ``plan`` calls :func:`plan_calls` like
``ParallelMap(func, *args, n_inputs=..., **kwargs)`` does; ``calls`` expands a plan
into what each call receives, through :func:`call_arguments`, as ``compute()`` does.
"""

from __future__ import annotations

import functools

import numpy as np

from acme import ParallelMap
from acme.broadcast import call_arguments, plan_calls


def f(x, y, z=3):
    return x, y, z


def g(x, y, z=3, w=np.zeros((3, 1))):  # noqa: B008  the documented signature
    return x, y, z, w


def h(x, **kw):
    return x, kw


def t(x, taskID=None):  # noqa: N803  ACME's parameter name
    return x, taskID


def one(x):
    return x


def star(x, *rest):
    return x, rest


def only_star(*items, **named):
    return items, named


def kw_only(x, *, scale):
    return x, scale


def kw_only_default(x, *, scale=2):
    return x, scale


def pos_only(a, b, /, c=1):
    return a, b, c


def seq_default(x, z=(1, 2, 3)):
    return x, z


def list_default(x, z=[1, 2]):  # noqa: B006  the default under test
    return x, z


def array_default(x, z=np.arange(3)):  # noqa: B008  the default under test
    return x, z


def none_default(x, z=None):
    return x, z


def task_required(x, taskID):  # noqa: N803
    return x, taskID


def task_kw_only(x, *, taskID):  # noqa: N803
    return x, taskID


def task_pos_only(taskID, /):  # noqa: N803
    return taskID


def task_var_kw(x, **kw):
    return x, kw


def passthrough(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


wrapped_f = passthrough(f)
wrapped_t = passthrough(t)


class Scaler:
    def __call__(self, x, factor=2):
        return x * factor


def plan(func, *args, n_inputs=None, **kwargs):
    return plan_calls(func, args, kwargs, n_inputs)


def calls(the_plan):
    """What each call receives: ``[(args, kwargs), ...]``."""
    call_args = call_arguments(the_plan.argv, the_plan.kwargv, the_plan.n_calls)
    return [
        (list(args), dict(kwargs))
        for args, kwargs in (
            call_args.for_call(i, call_args.shared) for i in range(the_plan.n_calls)
        )
    ]


def compute_in_memory(func, *args, **kwargs):
    """``compute()`` of a map gathered in memory."""
    with ParallelMap(func, *args, write_worker_results=False, **kwargs) as pmap:
        return pmap.compute()
