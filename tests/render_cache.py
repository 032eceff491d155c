"""For ``python -m tests.mutate object_checks`` only: the program's runs under mocks and the chart's
renderings, kept on disk and read back, so that each mutant's tests (forked afresh, their module
fixtures made again) do not run the program and Helm's engine again for the same stacks.

Off unless ``$AISINFRA_MUTATE_RENDER_CACHE`` names a directory, which only tests/mutate.py sets,
and only for that module: ``make test`` never reads a cache. What is kept is only what the mutated
module does not compute (``render.run_program``, ``chart_render.render_release`` and
``chart_render.helm_manifests``, none of them mutated in that run), each keyed on everything it
reads from its arguments: a mutant that calls one with other arguments misses the cache and gets
the real call, and an argument the key cannot be made of (a mutant passing ``None``) goes to the
real call too, to fail as it would. The first, unmutated run (mutmut's own) fills the cache.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE_ENV = "AISINFRA_MUTATE_RENDER_CACHE"


def _program_key(stack: Any, deployed_outputs: Any = None, organization: Any = None, failing: Any = None) -> Any:
    # The stack file's name and keys (the path is a fresh temporary directory in every run).
    return (stack.name, stack.path.name, stack.values, sorted(stack.secret_keys), deployed_outputs, organization,
            sorted(failing or ()))  # fmt: skip


def _render_key(rendering: Any, chart_dir: Any, project_dir: Any = None) -> Any:
    from aisinfra.review.chart_render import ReleaseInputs

    return (ReleaseInputs.of(rendering), str(chart_dir), str(project_dir))


def _helm_key(chart_dir: Any, release: Any) -> Any:
    from aisinfra.review.chart_render import ReleaseInputs

    if not isinstance(release, ReleaseInputs):
        raise TypeError(release)
    return (str(chart_dir), release)


def _cached(directory: Path, function: Callable[..., Any], key_of: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def cached(*args: Any, **kwargs: Any) -> Any:
        try:
            key = pickle.dumps((function.__name__, key_of(*args, **kwargs)))
        except Exception:  # not a call the cache can stand for: make it for real
            return function(*args, **kwargs)
        path = directory / f"{function.__name__}-{hashlib.sha256(key).hexdigest()}.pickle"
        if path.exists():
            return pickle.loads(path.read_bytes())
        result = function(*args, **kwargs)
        # Two mutants may fill the same entry at once: each writes its own file, then renames.
        with tempfile.NamedTemporaryFile(dir=directory, delete=False) as file:
            file.write(pickle.dumps(result))
        os.replace(file.name, path)
        return result

    return cached


def install() -> None:
    """Serve the three calls from the cache, when ``$AISINFRA_MUTATE_RENDER_CACHE`` is set."""
    setting = os.environ.get(CACHE_ENV)
    if not setting:
        return
    directory = Path(setting)
    directory.mkdir(parents=True, exist_ok=True)
    # Imported here, not by tests/mutate.py, which only reads CACHE_ENV. object_checks is the
    # mutated module: its own names are patched, where deployment_of looks them up.
    from aisinfra.review import chart_render, object_checks, render

    run_program = _cached(directory, render.run_program, _program_key)
    render_release = _cached(directory, chart_render.render_release, _render_key)
    helm_manifests = _cached(directory, chart_render.helm_manifests, _helm_key)
    render.run_program = object_checks.run_program = run_program
    chart_render.render_release = object_checks.render_release = render_release
    chart_render.helm_manifests = helm_manifests
