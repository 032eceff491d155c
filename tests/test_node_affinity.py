"""How the object review reads a pod's node requirements: the scheduler's rules for a nodeSelector
and required node affinity (any term; every expression of a term), on the labels of one node."""

from __future__ import annotations

from typing import Any

import pytest

from aisinfra.review.object_checks import _fits, _node_requirements

NODE = {"kubernetes.io/hostname": "cpu01", "nvidia.com/ais-target": "demo-ais", "rack": "7"}


def affinity(*terms: list[dict[str, Any]]) -> dict[str, Any]:
    required = {"nodeSelectorTerms": [{"matchExpressions": expressions} for expressions in terms]}
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}}


@pytest.mark.parametrize(
    ("expression", "fits"),
    [
        ({"key": "nvidia.com/ais-target", "operator": "In", "values": ["x", "demo-ais"]}, True),
        ({"key": "nvidia.com/ais-target", "operator": "In", "values": ["demo"]}, False),
        ({"key": "nvidia.com/ais-target", "operator": "NotIn", "values": ["demo"]}, True),
        ({"key": "nvidia.com/ais-target", "operator": "NotIn", "values": ["demo-ais"]}, False),
        ({"key": "absent", "operator": "NotIn", "values": ["demo-ais"]}, True),
        ({"key": "rack", "operator": "Exists"}, True),
        ({"key": "absent", "operator": "Exists"}, False),
        ({"key": "absent", "operator": "DoesNotExist"}, True),
        ({"key": "rack", "operator": "DoesNotExist"}, False),
        ({"key": "rack", "operator": "Gt", "values": ["6"]}, True),
        ({"key": "rack", "operator": "Gt", "values": ["7"]}, False),
        ({"key": "rack", "operator": "Lt", "values": ["8"]}, True),
        ({"key": "rack", "operator": "Lt", "values": ["7"]}, False),
        ({"key": "kubernetes.io/hostname", "operator": "Gt", "values": ["1"]}, False),  # not an integer
        ({"key": "absent", "operator": "Lt", "values": ["1"]}, False),
        ({"key": "rack", "operator": "Bogus", "values": ["7"]}, False),
        ({"key": "rack", "operator": "Bogus", "values": ["8"]}, False),  # no operator: never an integer comparison
        ({"key": "rack", "operator": "Gt", "values": ["6", "8"]}, False),  # Gt and Lt take exactly one value
    ],
)
def test_each_operator_as_the_scheduler_reads_it(expression: dict[str, Any], fits: bool) -> None:
    assert _fits(affinity([expression]), NODE) is fits


def test_one_term_must_match_in_full_and_the_node_selector_too() -> None:
    mismatch = {"key": "rack", "operator": "In", "values": ["8"]}
    match = {"key": "rack", "operator": "In", "values": ["7"]}
    assert _fits(affinity([match, mismatch]), NODE) is False
    assert _fits(affinity([mismatch], [match]), NODE) is True
    assert _fits({**affinity([match]), "nodeSelector": {"rack": "8"}}, NODE) is False
    assert _fits({"nodeSelector": {"rack": "7"}}, NODE) is True
    assert _fits({"nodeSelector": NODE}, NODE) is True  # every label of the node
    assert _fits({}, NODE) is True


def test_requirements_are_said_as_a_label_selector() -> None:
    assert _node_requirements({}) is None
    assert _node_requirements({"nodeSelector": {"b": "2", "a": "1"}}) == "a=1, b=2"
    assert _node_requirements(affinity([{"key": "c", "operator": "In", "values": ["3"]}])) == "c=3"
    spec = {
        "nodeSelector": {"a": "1"},
        **affinity(
            [{"key": "c", "operator": "In", "values": ["3"]}, {"key": "d", "operator": "Exists"}],
            [{"key": "e", "operator": "NotIn", "values": ["4", "5"]}, {"key": "f", "operator": "DoesNotExist"}],
        ),
    }
    assert _node_requirements(spec) == "a=1 and one of (c=3, d) or (e notin (4, 5), !f)"
