"""``init``: the worksheet's questions, in its order and words, into ``Pulumi.<stack>.yaml``.

Each answer is judged at its prompt, with every rule that the answers so far allow: its own
value rule, then the whole validation (the ``judge`` the CLI passes in, model and chart
rules) of the stack config built from the answers so far, keeping the problems about keys
already answered. A bad answer is asked again; ``<`` goes back to the previous question when
a later answer shows an earlier one was wrong (an initial target count larger than the node
list). Every question has a flag, so ``init`` also runs with no terminal; then every bad or
missing flag is reported in one run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from aisinfra.worksheet.model import (
    DEFAULT_AISNODE_IMAGE,
    DEFAULT_INIT_IMAGE,
    DEFAULT_KUBERNETES_VERSION,
    DEFAULT_STATE_PATH,
    AbsolutePath,
    ClaimName,
    HostPort,
    Image,
    KubernetesVersion,
    MountpointPattern,
    Namespace,
    NodeName,
    NodePattern,
    Problem,
    Quantity,
    ReleaseName,
    error_message,
)
from aisinfra.worksheet.patterns import expand
from aisinfra.worksheet.stackfile import NAMESPACE, StackFileError, go_yaml

DEFAULT_CHART_PATH = "../ais-k8s/helm/ais/charts"
DEFAULT_CHART_NAME = "ais"
BACK = ("<", "back")
# Pulumi's own rule for a stack's name (pulumi/pkg/backend: validateStackName).
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# Answers by config key as problems name it ("targets.initialCount", "kubernetes:context");
# None: answered with nothing, so the key is left out of the stack file.
Answers = dict[str, Any]
Judge = Callable[[dict[str, Any]], list[Problem]]


class AnswerError(ValueError):
    """An answer that breaks a worksheet rule; the message says which and why."""


def stack_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a Pulumi stack's name, or None when it can."""
    if "/" in name:
        return f"'{name}': give the stack's own name, without organization or project"
    if not _STACK_NAME.match(name):
        return (
            f"'{name}' is not a Pulumi stack name: use at most 100 letters, digits, '-', '_' and '.' "
            "(Pulumi's rule; the stack file is Pulumi.NAME.yaml)"
        )
    return None


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


def _mapping(text: str, _: Answers) -> dict[str, Any]:
    # Read as the Pulumi CLI will read it from the stack file: a key written twice is an error.
    answer = Path("the answer")
    try:
        values = go_yaml(text, answer)
    except StackFileError as error:
        raise AnswerError(f"'{text}': {str(error).removeprefix(f'{answer}: ')}") from None
    if not isinstance(values, dict):
        raise AnswerError(f"'{text}' is not a YAML mapping; write e.g. '{{aiscluster: {{skipHostIP: true}}}}'")
    return values


def _text(text: str, _: Answers) -> str:
    return text


def _typed(annotation: Any) -> Callable[[str, Answers], Any]:
    return lambda text, _: _checked(annotation, text)


def _fixed(text: str | None) -> Callable[[Answers], str | None]:
    return lambda _: text


def _when(key: str, test: Callable[[Any], bool]) -> Callable[[Answers], bool | None]:
    """Asked when the answer to ``key`` passes ``test``; None (cannot tell) while ``key``
    has no valid answer."""
    return lambda answers: test(answers[key]) if key in answers else None


def _first_proxy(answers: Answers) -> str | None:
    patterns = answers.get("proxies.nodes")
    return expand(patterns[0])[0] if patterns else None


@dataclass(frozen=True)
class Question:
    key: str  # the config key the answer sets, as problems name it
    flag: str
    text: str
    parse: Callable[[str, Answers], Any]
    default: Callable[[Answers], str | None] = lambda _: None
    asked: Callable[[Answers], bool | None] = lambda _: True
    optional: bool = False  # an empty answer leaves the key out
    prompted: bool = True  # False: set by its flag; prompted only when its answer needs fixing
    applies: str = ""  # when it is asked, for a flag given where it is not

    @property
    def label(self) -> str:
        """The question's first words, to name it in a message."""
        return re.split(r":| \(", self.text, maxsplit=1)[0]


_MONITORING_ON = _when("monitoring.enabled", lambda enabled: enabled)
_MONITORING_OFF = _when("monitoring.enabled", lambda enabled: not enabled)
_FROM_REPOSITORY = _when("chart.repo", lambda repo: repo is not None)
_FROM_PATH = _when("chart.repo", lambda repo: repo is None)

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
        _typed(Namespace),
    ),
    Question(
        "existingNamespace",
        "--existing-namespace",
        "Does that namespace exist already, e.g. holding an image pull secret or the monitoring claims (yes/no)",
        _yes_no,
        _fixed("no"),
    ),
    Question(
        "statePath",
        "--state-path",
        "AIStore state path prefix: directory on each proxy/target node for AIStore state (recommended: keep)",
        _typed(AbsolutePath),
        _fixed(DEFAULT_STATE_PATH),
    ),
    Question("images.initContainer", "--init-image", "initContainer image", _typed(Image), _fixed(DEFAULT_INIT_IMAGE)),
    Question("images.aisnode", "--aisnode-image", "Aisnode image", _typed(Image), _fixed(DEFAULT_AISNODE_IMAGE)),
    Question(
        "targets.initialCount",
        "--initial-targets",
        "Initial number of targets (0: all target nodes)",
        _count,
        _fixed("0"),
    ),
    Question(
        "targets.nodes", "--target-nodes", "Target nodes, separated by spaces or commas, e.g. cpu{01..12}", _nodes
    ),
    Question(
        "targets.mountpoints",
        "--mountpoints",
        "Mountpoints on each target node, separate filesystems, separated by spaces or commas, e.g. /ais/sd[a-j]",
        _mountpoints,
    ),
    Question(
        "proxies.nodes",
        "--proxy-nodes",
        "Proxy nodes, separated by spaces or commas (at least three advised for HA)",
        _nodes,
        lambda answers: " ".join(answers.get("targets.nodes") or []) or None,
    ),
    Question(
        "proxies.initialPrimary",
        "--initial-primary",
        "Initial primary node (must be a proxy node)",
        _typed(NodeName),
        _first_proxy,
    ),
    Question(
        "proxies.initialPrimaryLabel",
        "--initial-primary-label",
        "Label the initial primary node (yes; no once the cluster is up and the label is removed)",
        _yes_no,
        _fixed("yes"),
        prompted=False,
    ),
    Question(
        "monitoring.enabled",
        "--monitoring",
        "Deploy Prometheus, Graphite and Grafana with the chart (yes/no)",
        _yes_no,
        _fixed("yes"),
    ),
    Question(
        "monitoring.graphite",
        "--graphite",
        "Graphite storage: NODE:PATH:SIZE for a volume on a node, or claim:NAME for an existing claim",
        _storage,
        asked=_MONITORING_ON,
        applies="with --monitoring yes",
    ),
    Question(
        "monitoring.grafana",
        "--grafana",
        "Grafana storage: NODE:PATH:SIZE for a volume on a node, or claim:NAME for an existing claim",
        _storage,
        asked=_MONITORING_ON,
        applies="with --monitoring yes",
    ),
    Question(
        "monitoring.externalGraphite",
        "--external-graphite",
        "Graphite that receives AIStore's stats, host:port",
        _typed(HostPort),
        asked=_MONITORING_OFF,
        applies="with --monitoring no",
    ),
    Question(
        "monitoring.prometheus",
        "--prometheus",
        "Deploy Prometheus alone, without Graphite and Grafana (yes/no)",
        _yes_no,
        asked=_MONITORING_OFF,
        optional=True,
        prompted=False,
        applies="with --monitoring no (Prometheus follows --monitoring yes)",
    ),
    Question(
        "chart.repo",
        "--chart-repo",
        "AIStore chart from a Helm chart repository: its URL (empty: a local checkout of the chart)",
        _text,
        optional=True,
    ),
    Question(
        "chart.name",
        "--chart-name",
        "Chart name in that repository",
        _text,
        _fixed(DEFAULT_CHART_NAME),
        asked=_FROM_REPOSITORY,
        applies="with --chart-repo",
    ),
    Question(
        "chart.version",
        "--chart-version",
        "Chart version (one exact version, e.g. 0.1.0)",
        _text,
        asked=_FROM_REPOSITORY,
        applies="with --chart-repo",
    ),
    Question(
        "chart.path",
        "--chart-path",
        "AIStore chart: path of the helm/ais/charts directory of an ais-k8s checkout",
        _text,
        _fixed(DEFAULT_CHART_PATH),
        asked=_FROM_PATH,
        applies="without --chart-repo",
    ),
    Question(
        "chart.dependencyUpdate",
        "--chart-dependency-update",
        "Let Helm download a subchart missing from the chart's charts/ during the preview (no, the default, "
        "installs those that one `helm dependency build` put in the chart's charts/)",
        _yes_no,
        optional=True,
        prompted=False,
    ),
    Question(
        "chart.values",
        "--chart-values",
        "Chart values the worksheet does not cover, as a YAML mapping",
        _mapping,
        optional=True,
        prompted=False,
    ),
    Question(
        "chart.timeoutSeconds",
        "--chart-timeout-seconds",
        "How long Helm waits for the release on install, upgrade and uninstall, in seconds (60 to 86400)",
        _typed(int),
        optional=True,
        prompted=False,
    ),
    Question(
        "preflight.enabled",
        "--preflight",
        "Check every target node's disks with a Job before AIStore installs (no only where such a Job cannot run)",
        _yes_no,
        optional=True,
        prompted=False,
    ),
    Question(
        "preflight.image",
        "--preflight-image",
        "Image of the disk checks: any with a POSIX sh, stat, ls and grep (e.g. your registry's copy of busybox)",
        _typed(Image),
        optional=True,
        prompted=False,
    ),
    Question(
        "protect",
        "--protect",
        "Protect the release, namespace and monitoring volumes from deletion (yes; no only for a throwaway stack)",
        _yes_no,
        _fixed("yes"),
    ),
    Question(
        "kubernetes:context",
        "--kubernetes-context",
        "Kubernetes context (from your kubeconfig) of the cluster (empty: whichever is current when pulumi runs)",
        _text,
        optional=True,
    ),
    Question(
        "kubernetesVersion",
        "--kubernetes-version",
        "Kubernetes version of that cluster, major.minor (render and check validate objects against its API)",
        _typed(KubernetesVersion),
        _fixed(DEFAULT_KUBERNETES_VERSION),
    ),
]


def _about(problem_key: str, key: str) -> bool:
    """Whether a problem's key names ``key`` or something inside it."""
    return problem_key == key or problem_key.startswith((f"{key}.", f"{key}["))


def question_of(problem_key: str) -> Question | None:
    return next((question for question in QUESTIONS if _about(problem_key, question.key)), None)


def spoken(problem: Problem, as_flag: bool) -> str:
    """A problem in both languages: the config key and the flag or question init used."""
    question = question_of(problem.key)
    if question is None:
        return str(problem)
    if as_flag:
        return f"{question.flag} ({problem.key}): {problem.message}"
    return f'{problem.key} (asked as "{question.label}"): {problem.message}'


def _judged(problem: Problem, answered: list[str], pending: list[str]) -> bool:
    """A problem is judged once the keys it is about are answered; a problem about a whole
    section (``chart``) once none of its questions is still to come."""
    if any(_about(problem.key, key) for key in answered):
        return True
    inside = [key for key in answered if _about(key, problem.key)]
    return bool(inside) and not any(_about(key, problem.key) for key in pending)


def _mentions(problem: Problem, key: str) -> bool:
    """Whether a problem of another key names ``key`` as written (``existingNamespace``)."""
    return problem.key != key and re.search(rf"(?<![\w.]){re.escape(key)}(?![\w])", problem.message) is not None


def stack_config(answers: Answers) -> dict[str, Any]:
    """The stack file's ``config:`` mapping: each answer under its key, in worksheet order."""
    config: dict[str, Any] = {}
    for question in QUESTIONS:
        value = answers.get(question.key)
        if value is None:
            continue
        if ":" in question.key:
            config[question.key] = value
            continue
        *sections, name = question.key.split(".")
        place = config
        for section in sections:
            place = place.setdefault(f"{NAMESPACE}:{section}" if place is config else section, {})
        place[f"{NAMESPACE}:{name}" if place is config else name] = value
    return config


class _Questionnaire:
    """One run of the questions: answers so far, and what is still to be fixed."""

    def __init__(self, given: dict[str, str | None], ask: Callable[[str], str] | None, judge: Judge):
        self.given = given
        self.ask = ask
        self.judge = judge
        self.answers: Answers = {}
        self.typed: dict[str, str] = {}  # what was typed for each key, the default when asked again
        self.history: list[int] = []  # the questions answered at a prompt, by index, in order
        self.reopened: set[str] = set()  # keys to prompt for even though a flag gave them
        self.problems: list[str] = []  # without a prompt: every bad or missing flag
        self.failed: list[str] = []  # ... and their keys, whose sections are judged once they are fixed

    def run(self) -> Answers:
        index = 0
        while index < len(QUESTIONS):
            index = self._step(index)
        if self.ask is None:
            answered = list(self.answers)
            judged = [p for p in self.judge(stack_config(self.answers)) if _judged(p, answered, self.failed)]
            self.problems += [spoken(problem, True) for problem in judged]
            if self.problems:
                raise AnswerError("\n".join(self.problems))
        return self.answers

    def _step(self, index: int) -> int:
        """Ask question ``index``; the index of the question to ask next."""
        question = QUESTIONS[index]
        given = self.given.get(question.key) if question.key not in self.reopened else None
        asked = question.asked(self.answers)
        if not asked:
            if asked is False and given is not None:
                self.problems.append(f"{question.flag}: only used {question.applies}; remove it")
            return index + 1
        prompt = self.ask is not None and given is None and (question.prompted or question.key in self.reopened)
        default = self.typed.get(question.key) or question.default(self.answers)
        text = given
        if prompt:
            text = self._prompt(question, default)
            if text in BACK or text.startswith("<"):
                return self._back(index, "" if text in BACK else text[1:].strip())
        text = text or default
        if text is None:
            if question.optional:
                return self._accept(index, None, "", prompt)
            if not prompt:
                self.problems.append(f"{question.flag}: required ({question.text})")
                self.failed.append(question.key)
                return index + 1
            print("  an answer is required")
            return index
        try:
            value = question.parse(text, self.answers)
        except AnswerError as error:
            return self._refuse(index, [Problem(question.key, str(error))], across=False)
        self.answers[question.key] = value
        if self.ask is not None:
            answered, pending = list(self.answers), self._pending(index)
            problems = [p for p in self.judge(stack_config(self.answers)) if _judged(p, answered, pending)]
            if problems:
                del self.answers[question.key]
                return self._refuse(index, problems, across=True)
        return self._accept(index, value, text, prompt)

    def _prompt(self, question: Question, default: str | None) -> str:
        assert self.ask is not None
        shown = f" [{default}]" if default is not None else ""
        try:
            return self.ask(f"{question.text}{shown}: ").strip()
        except EOFError:
            raise AnswerError(f"input ended before an answer to: {question.text}") from None

    def _accept(self, index: int, value: Any, text: str, prompted: bool) -> int:
        """Keep an answer; ``<`` goes back only to questions that were asked at a prompt."""
        question = QUESTIONS[index]
        self.answers[question.key] = value
        self.typed[question.key] = text
        self.reopened.discard(question.key)
        if prompted:
            self.history.append(index)
        return index + 1

    def _refuse(self, index: int, problems: list[Problem], across: bool) -> int:
        """Report the problems of an answer; with a prompt, ask the question again. A rule
        across keys may need an earlier answer changed instead: the operator can go back."""
        if self.ask is None:
            self.problems += [spoken(problem, True) for problem in problems]
            self.failed.append(QUESTIONS[index].key)
            return index + 1
        for problem in problems:
            print(f"  {spoken(problem, False)}")
        if across:
            asked = [QUESTIONS[earlier].key for earlier in self.history]
            named = [key for key in asked if any(_mentions(problem, key) for problem in problems)]
            hint = f", or <{named[-1]} to go back to that question" if named else ""
            print(f"  change this answer, or type < to go back and change an earlier one{hint}")
        self.reopened.add(QUESTIONS[index].key)
        return index

    def _back(self, index: int, key: str) -> int:
        """To the last question asked, or to the one asked for ``key`` (``<existingNamespace``)."""
        if not self.history:
            print("  this is the first question")
            return index
        if key:
            asked = [QUESTIONS[earlier].key for earlier in self.history]
            if key not in asked:
                print(f"  {key} was not asked before this question; type < to go back one question")
                return index
            del self.history[asked.index(key) + 1 :]
        previous = self.history.pop()
        for later in QUESTIONS[previous:]:
            self.answers.pop(later.key, None)
        self.reopened.add(QUESTIONS[previous].key)
        return previous

    def _pending(self, index: int) -> list[str]:
        """Keys of the questions still to come that will (or may) be asked."""
        return [question.key for question in QUESTIONS[index + 1 :] if question.asked(self.answers) is not False]


def ask_all(given: dict[str, str | None], ask: Callable[[str], str] | None, judge: Judge) -> Answers:
    """Answers in worksheet order: a given flag value, else the prompt (``ask``), else the
    default. ``judge`` returns every problem of a stack config (``stack_config``). With a
    prompt, a bad answer is asked again (and ``<`` goes back); without one, every bad or
    missing answer is reported together in one ``AnswerError``."""
    return _Questionnaire(given, ask, judge).run()
