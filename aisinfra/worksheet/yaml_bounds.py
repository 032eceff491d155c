"""How much one YAML document may stand for, and the words for what exceeds it: one place for
the stack reader (``aisinfra.worksheet.stackfile``) and the post-renderer
(``aisinfra.chart.postrender``), which hold every document they read to the same bounds.

Aliases let a few lines stand for a billion values (``a1: &a1 [*a0, *a0, ...]``, nine times over),
and brackets let one line nest thousands of levels deep, past what PyYAML's composer, Python's
``copy``, comparison and PyYAML's serializer can recurse through. Both readers refuse such a
document with these words before anything walks it in full.

Standard library only: the post-renderer imports it under a bare ``python3`` with PyYAML. The
nodes are PyYAML's, handled through what a caller passes in or through the loader's own methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

# Every node counts, with aliases expanded: a mapping, each of its keys and values, a list and
# each element. A real stack file stands for a few thousand, the chart's largest object for a few
# hundred; a million is far beyond both, and still walked in about a second.
MAX_YAML_VALUES = 1_000_000
# The document itself is level 1, what it holds level 2, and so on. Kubernetes objects nest about
# 20 levels; the deepest schemas of widely used CustomResourceDefinitions about 40. Above 100 is no
# object anyone writes, while every recursive step that reads or writes the document (PyYAML's
# composer, in Python or in C, copy.deepcopy, ==, PyYAML's serializer: one to three frames a
# level) stays far inside Python's default recursion limit of 1000.
MAX_YAML_DEPTH = 100

TOO_MANY_VALUES = f"aliases expand to more than {MAX_YAML_VALUES} values"
TOO_DEEP = f"nested more than {MAX_YAML_DEPTH} levels deep"
# Not a message: what expansion_problem reports for an alias inside the node it names, which each
# reader words for what it reads.
CONTAINS_ITSELF = "contains itself"

Node = TypeVar("Node")


class YamlBoundError(ValueError):
    """A document that exceeds a bound while it is composed; ``line`` counts from 0, as PyYAML's
    marks do, and is None when the composer did not say where."""

    def __init__(self, problem: str, line: int | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


class NestingBound:
    """Mixed into a PyYAML loader, ahead of it: refuses a node nested deeper than
    ``MAX_YAML_DEPTH`` while the document is composed, before the composer (recursive, in Python
    and in libyaml's binding alike) runs out of stack. Both composers call the resolver's
    ``descend_resolver`` before composing each node that is not an alias, and ``ascend_resolver``
    after it: the depth is counted there. (PyYAML's own methods only follow path resolvers, which
    the safe loaders have none of: they are called only when there are.)"""

    _levels = 0
    yaml_path_resolvers: dict[Any, Any]

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        if self._levels >= MAX_YAML_DEPTH:
            # The node about to be composed is the value of the key current_index, or an element
            # of current_node: the nearest line known.
            mark = getattr(current_index, "start_mark", None) or getattr(current_node, "start_mark", None)
            raise YamlBoundError(TOO_DEEP, getattr(mark, "line", None))
        self._levels += 1
        if self.yaml_path_resolvers:
            super().descend_resolver(current_node, current_index)  # type: ignore[misc]

    def ascend_resolver(self) -> None:
        if self.yaml_path_resolvers:
            super().ascend_resolver()  # type: ignore[misc]
        self._levels -= 1


def expansion_problem(root: Node, children: Callable[[Node], Iterable[Node]]) -> tuple[Node, str] | None:
    """What is wrong with the document at ``root`` once its aliases are expanded, and at which
    node: ``TOO_MANY_VALUES``, ``TOO_DEEP`` or ``CONTAINS_ITSELF``; None when nothing is.

    Each node is measured once, however many aliases name it, and the walk keeps its own stack:
    it takes time in proportion to the document as written, and refuses a billion values as fast
    as it reads the lines that stand for them."""
    measured: dict[int, tuple[int, int]] = {}  # id(node): (values, levels), aliases expanded
    inside: set[int] = {id(root)}  # the nodes on the path from the root, whose measure is pending
    # (node, its children not yet counted, [values, levels] counted so far)
    path: list[tuple[Node, Iterator[Node], list[int]]] = [(root, iter(children(root)), [1, 0])]
    while path:
        node, pending, counted = path[-1]
        for child in pending:
            known = measured.get(id(child))
            if known is None:
                if id(child) in inside:
                    return child, CONTAINS_ITSELF
                inside.add(id(child))
                path.append((child, iter(children(child)), [1, 0]))
                break
            counted[0] += known[0]
            counted[1] = max(counted[1], known[1])
            if counted[0] > MAX_YAML_VALUES:
                return node, TOO_MANY_VALUES
        else:
            path.pop()
            inside.discard(id(node))
            values, levels = counted[0], counted[1] + 1
            if levels > MAX_YAML_DEPTH:
                return node, TOO_DEEP
            measured[id(node)] = (values, levels)
            if path:
                parent, _, parent_counted = path[-1]
                parent_counted[0] += values
                parent_counted[1] = max(parent_counted[1], levels)
                if parent_counted[0] > MAX_YAML_VALUES:
                    return parent, TOO_MANY_VALUES
    return None
