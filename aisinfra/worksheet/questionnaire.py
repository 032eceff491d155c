"""``init``: the worksheet's questions, in its order and words, into ``Pulumi.<stack>.yaml``.

Each answer is checked on the spot with the worksheet model's own rules; the ``init``
command then validates the finished stack whole, exactly as the program will. Every question has a flag, so
``init`` also runs with no terminal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from aisinfra.worksheet.model import (
    DEFAULT_AISNODE_IMAGE,
    DEFAULT_INIT_IMAGE,
    DEFAULT_STATE_PATH,
    AbsolutePath,
    ClaimName,
    DnsLabel,
    HostPort,
    Image,
    MountpointPattern,
    NodeName,
    NodePattern,
    Quantity,
    ReleaseName,
    error_message,
)
from aisinfra.worksheet.patterns import expand
from aisinfra.worksheet.stackfile import NAMESPACE

DEFAULT_CHART_PATH = "../ais-k8s/helm/ais/charts"
Answers = dict[str, Any]


class AnswerError(ValueError):
    """An answer that breaks a worksheet rule; the message says which and why."""


def _checked(annotation: Any, value: Any) -> Any:
    try:
        return TypeAdapter(annotation).validate_python(value)
    except ValidationError as error:
        raise AnswerError("; ".join(error_message(detail) for detail in error.errors())) from None


def split_list(text: str) -> list[str]:
    """Entries separated by spaces or by commas outside {...}: ``cpu{01..04}, gpu{a,b}``."""
    return [entry for entry in re.split(r"[\s]+|,(?![^{]*\})", text) if entry]


def _nodes(text: str, _: Answers) -> list[str]:
    return list(_checked(list[NodePattern], split_list(text)))


def _mountpoints(text: str, _: Answers) -> list[str]:
    return list(_checked(list[MountpointPattern], split_list(text)))


def _count(text: str, _: Answers) -> int:
    if not text.isdigit():
        raise AnswerError(f"'{text}' is not a whole number (0 means all target nodes)")
    return int(text)


def _target_nodes(text: str, answers: Answers) -> list[str]:
    """The worksheet asks the initial count first; the node list must then hold that many."""
    patterns = _nodes(text, answers)
    count = len([name for pattern in patterns for name in expand(pattern)])
    if answers["initialCount"] > count:
        raise AnswerError(f"the initial number of targets ({answers['initialCount']}) is more than these {count} nodes")
    return patterns


def _primary(text: str, answers: Answers) -> str:
    node = str(_checked(NodeName, text))
    if node not in [name for pattern in answers["proxies"] for name in expand(pattern)]:
        raise AnswerError(f"'{node}' is not one of the proxy nodes")
    return node


def _yes_no(text: str, _: Answers) -> bool:
    if text.lower() in ("y", "yes", "true"):
        return True
    if text.lower() in ("n", "no", "false"):
        return False
    raise AnswerError(f"'{text}': answer yes or no")


def _storage(text: str, _: Answers) -> dict[str, str]:
    if text.startswith("claim:"):
        return {"existingClaim": str(_checked(ClaimName, text.removeprefix("claim:")))}
    parts = text.split(":")
    if len(parts) != 3:
        raise AnswerError(f"'{text}': write NODE:PATH:SIZE (e.g. cpu01:/data/graphite:250Gi) or claim:NAME")
    node, path, size = parts
    return {"node": _checked(NodeName, node), "path": _checked(AbsolutePath, path), "size": _checked(Quantity, size)}


def _typed(annotation: Any) -> Callable[[str, Answers], Any]:
    return lambda text, _: _checked(annotation, text)


@dataclass(frozen=True)
class Question:
    key: str
    flag: str
    text: str
    parse: Callable[[str, Answers], Any]
    default: Callable[[Answers], str | None] = lambda _: None
    asked: Callable[[Answers], bool] = lambda _: True


def _first(key: str) -> Callable[[Answers], str | None]:
    return lambda answers: expand(answers[key][0])[0] if answers.get(key) else None


QUESTIONS = [
    Question(
        "releaseName",
        "--release-name",
        "Release name: used in helm install; becomes the base for service names and node labels; must be DNS compliant",
        _typed(ReleaseName),
    ),
    Question(
        "namespace",
        "--namespace",
        "K8s namespace for the deployment (one AIStore cluster per namespace)",
        _typed(DnsLabel),
    ),
    Question(
        "existingNamespace",
        "--existing-namespace",
        "Does that namespace exist already, e.g. holding an image pull secret or the monitoring claims (yes/no)",
        _yes_no,
        lambda _: "no",
    ),
    Question(
        "statePath",
        "--state-path",
        "AIStore state path prefix: directory on each proxy/target node for AIStore state (recommended: keep)",
        _typed(AbsolutePath),
        lambda _: DEFAULT_STATE_PATH,
    ),
    Question("initContainer", "--init-image", "initContainer image", _typed(Image), lambda _: DEFAULT_INIT_IMAGE),
    Question("aisnode", "--aisnode-image", "Aisnode image", _typed(Image), lambda _: DEFAULT_AISNODE_IMAGE),
    Question(
        "initialCount",
        "--initial-targets",
        "Initial number of targets (0: all target nodes)",
        _count,
        lambda _: "0",
    ),
    Question("targets", "--target-nodes", "Target nodes, e.g. cpu{01..12}", _target_nodes),
    Question(
        "mountpoints",
        "--mountpoints",
        "Mountpoints on each target node, separate filesystems, e.g. /ais/sd[a-j]",
        _mountpoints,
    ),
    Question(
        "proxies",
        "--proxy-nodes",
        "Proxy nodes (at least three advised for HA)",
        _nodes,
        lambda answers: " ".join(answers["targets"]),
    ),
    Question(
        "initialPrimary",
        "--initial-primary",
        "Initial primary node (must be a proxy node)",
        _primary,
        _first("proxies"),
    ),
    Question(
        "monitoring",
        "--monitoring",
        "Deploy Prometheus, Graphite and Grafana with the chart (yes/no)",
        _yes_no,
        lambda _: "yes",
    ),
    Question(
        "graphite",
        "--graphite",
        "Graphite storage: NODE:PATH:SIZE for a volume on a node, or claim:NAME for an existing claim",
        _storage,
        asked=lambda answers: answers["monitoring"],
    ),
    Question(
        "grafana",
        "--grafana",
        "Grafana storage: NODE:PATH:SIZE for a volume on a node, or claim:NAME for an existing claim",
        _storage,
        asked=lambda answers: answers["monitoring"],
    ),
    Question(
        "externalGraphite",
        "--external-graphite",
        "Graphite that receives AIStore's stats, host:port",
        _typed(HostPort),
        asked=lambda answers: not answers["monitoring"],
    ),
    Question(
        "chartPath",
        "--chart-path",
        "AIStore chart: path of the helm/ais/charts directory of an ais-k8s checkout",
        lambda text, _: text,
        lambda _: DEFAULT_CHART_PATH,
    ),
]


def ask_all(given: dict[str, str | None], ask: Callable[[str], str] | None) -> Answers:
    """Answers in worksheet order: a given flag value, else the prompt (``ask``), else the
    default. Without a prompt a missing answer with no default is an error."""
    answers: Answers = {}
    for question in QUESTIONS:
        if not question.asked(answers):
            continue
        default = question.default(answers)
        value = given.get(question.key)
        while True:
            if value is None and ask is not None:
                shown = f" [{default}]" if default is not None else ""
                try:
                    value = ask(f"{question.text}{shown}: ").strip() or None
                except EOFError:
                    raise AnswerError(f"input ended before an answer to: {question.text}") from None
            if value is None:
                value = default
            if value is None:
                if ask is None:
                    raise AnswerError(f"{question.flag}: required ({question.text})")
                print("  an answer is required")
                continue
            try:
                answers[question.key] = question.parse(value, answers)
                break
            except AnswerError as error:
                if ask is None or given.get(question.key) is not None:
                    raise AnswerError(f"{question.flag}: {error}") from None
                print(f"  {error}")
                value = None
    return answers


def stack_config(answers: Answers) -> dict[str, Any]:
    """The stack file's ``config:`` mapping, laid out like Pulumi.dev.yaml."""
    monitoring: dict[str, Any] = {"enabled": answers["monitoring"]}
    if answers["monitoring"]:
        monitoring |= {"graphite": answers["graphite"], "grafana": answers["grafana"]}
    else:
        monitoring["externalGraphite"] = answers["externalGraphite"]
    config = {
        "releaseName": answers["releaseName"],
        "namespace": answers["namespace"],
        "existingNamespace": answers["existingNamespace"],
        "statePath": answers["statePath"],
        "chart": {"path": answers["chartPath"]},
        "images": {"initContainer": answers["initContainer"], "aisnode": answers["aisnode"]},
        "targets": {
            "initialCount": answers["initialCount"],
            "nodes": answers["targets"],
            "mountpoints": answers["mountpoints"],
        },
        "proxies": {"nodes": answers["proxies"], "initialPrimary": answers["initialPrimary"]},
        "monitoring": monitoring,
    }
    return {f"{NAMESPACE}:{key}": value for key, value in config.items()}
