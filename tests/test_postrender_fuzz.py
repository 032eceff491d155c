"""Fuzzing the post-renderer: streams of documents nested deep, aliased (bombs and loops
included), with keys written twice, tags that do not fit, control characters, broken syntax and
text cut or spliced at random, in the shape of what the chart renders so the fixes run too.

Whatever comes in, the post-renderer never ends in a traceback: it returns manifests that it
reads back as they are (so they are valid), or raises ``PostrenderError`` with problems that
are each one printable line -- what ``main`` prints, exiting 1. And where PyYAML has libyaml,
libyaml's emitter writes every document exactly as PyYAML's own emitter would (or leaves it to
it: the guards in ``_dump``).

With hypothesis installed the examples come from it (``max_examples`` bounded, ``deadline=None``,
``derandomize=True``: the same examples on every run); without it, from ``random.Random`` with a
fixed seed, through the same generator.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from aisinfra.chart import postrender as postrender_module
from aisinfra.chart.postrender import PostrenderError, main, postrender
from tests import fuzzing
from tests.fuzzing import EXAMPLES, YAML_SPLICES, RandomChoices

SEED = 20261127


# -- The generator --------------------------------------------------------------------------------

KINDS = [
    ("v1", "Pod"),
    ("apps/v1", "StatefulSet"),
    ("extensions/v1beta1", "Deployment"),
    ("apps/v1beta2", "DaemonSet"),
    ("batch/v1beta1", "CronJob"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("policy/v1beta1", "PodSecurityPolicy"),
    ("policy/v1beta1", "PodDisruptionBudget"),
    ("storage.k8s.io/v1beta1", "StorageClass"),
    ("v1", "PersistentVolume"),
    ("v1", "PersistentVolumeClaim"),
    ("networking.k8s.io/v1beta1", "Ingress"),
    ("v1", "ConfigMap"),
    ("v1", "List"),
]
NO_KINDS = [("", "Service"), ("v1", ""), ("v1", "[List]"), ("{a: 1}", "Pod")]
# Most values are plain and fit where they stand; a few are anything but.
COMMON_SCALARS = [
    "demo",
    "ais",
    "x",
    "fspath.ais.sda",
    "fspath-ais-sda",
    "topology.kubernetes.io/node",
    "podsecuritypolicies",
    "use",
    "ServiceAccount",
    "ClusterRole",
    "Role",
    "local-storage",
    "ais.demo.local-storage",
    "0777",
    "0o17",
    "yes",
    "on",
    "~",
    "null",
    "1e3",
    "1:20",
    "2024-01-02",
    "2024-01-02T03:04:05Z",
    "!!str 12",
    "'quoted'",
    "é—ünï 😀",
]
RARE_SCALARS = [
    "''",
    '""',
    "'it''s'",
    '"\\e[31mred\\u202e"',
    '"\\ud800"',
    '"\\U0001F600"',
    '"one\\u2028two\\x85"',
    "a\tb",
    "!!int 7",
    "!!int foo",
    "!!float 1",
    "!!bool maybe",
    "!!binary aGVsbG8=",
    "!!timestamp 2024",
    "!!set {a, b}",
    "!!omap [{a: 1}]",
    "!custom x",
    "!",
    "k" * 130,
    "...",
    "- a",
    "C:\\temp",
    "|+\n  kept\n\n",
    ">-\n  folded\n  text\n",
]
COMMON_KEYS = [
    "name",
    "namespace",
    "labels",
    "release",
    "app.kubernetes.io/instance",
    "spec",
    "template",
    "containers",
    "initContainers",
    "volumes",
    "volumeMounts",
    "affinity",
    "topologyKey",
    "rules",
    "resources",
    "verbs",
    "roleRef",
    "subjects",
    "items",
    "selector",
    "storageClassName",
    "volumeName",
    "priorityClassName",
    "a",
]
RARE_KEYS = [
    "metadata",
    "kind",
    "apiVersion",
    "<<",
    "'a'",
    "1",
    "0x1",
    "true",
    '""',
    "k" * 124,
    '"\\e]0;title\\a"',
]


class Generator(fuzzing.Generator):
    def scalar(self) -> str:
        return self.choices.pick(RARE_SCALARS if self.chance(10) else COMMON_SCALARS)

    def key(self) -> str:
        return self.choices.pick(RARE_KEYS if self.chance(5) else COMMON_KEYS)

    def anchored(self, value: str) -> str:
        """The value under a new anchor, which later values may name (an alias inside a value
        to the anchor around it comes from the loops ``document`` writes on purpose)."""
        name = f"a{len(self.anchors)}"
        self.anchors.append(name)
        return f"&{name} {value}"

    def flow(self, depth: int) -> str:
        """A value written on one line."""
        roll = self.choices.integer(1, 100)
        if depth > 4 or roll <= 40:
            value = self.scalar()
            return value if "\n" not in value else '"folded"'
        if roll <= 55 and self.anchors:
            return f"*{self.choices.pick(self.anchors)}"
        if roll <= 58:
            levels = self.choices.pick([3, 3, 3, 3, 3, 3, 96, 98, 400])
            return "[" * levels + "x" + "]" * levels
        if roll <= 80:
            items = [self.flow(depth + 1) for _ in range(self.choices.integer(0, 3))]
            value = f"[{', '.join(items)}]"
        else:
            pairs = [f"{self.key()}: {self.flow(depth + 1)}" for _ in range(self.choices.integer(0, 3))]
            value = f"{{{', '.join(pairs)}}}"
        return self.anchored(value) if self.chance(20) else value

    def block(self, indent: int, depth: int) -> list[str]:
        """The lines of a block mapping at ``indent``."""
        lines: list[str] = []
        for _ in range(self.choices.integer(1, 4)):
            key = self.key()
            pad = " " * indent
            if depth < 4 and self.chance(35):
                named, at = self.chance(15), len(lines)
                lines.append(f"{pad}{key}:")
                if self.chance(50):
                    lines += self.block(indent + 2, depth + 1)
                else:
                    for _ in range(self.choices.integer(1, 3)):
                        item = self.block(indent + 2, depth + 1)
                        lines.append(f"{pad}- {item[0].lstrip()}")
                        lines += item[1:]
                if named:  # only now: no alias inside it names it
                    lines[at] += " " + self.anchored("").rstrip()
            else:
                value = self.scalar() if self.chance(30) else self.flow(depth)
                if "\n" in value:
                    head, *rest = value.rstrip("\n").split("\n")
                    lines.append(f"{pad}{key}: {head}")
                    lines += [f"{pad}  {line.strip()}" if line.strip() else "" for line in rest]
                else:
                    lines.append(f"{pad}{key}: {value}")
        return lines

    def pod_spec(self, indent: int) -> list[str]:
        """A pod template's spec with the chart's defects, or some of them."""
        pad = " " * indent
        mount = self.choices.pick(["fspath.ais.sda", "fspath-ais-sda", "env.mount", "x.y.z"])
        volume = self.choices.pick(["fspath-ais-sda", "env-mount", "x-y.z", "fspath.ais.sda"])
        key = self.choices.pick(["topology.kubernetes.io/node", "kubernetes.io/hostname"])
        return [
            f"{pad}containers:",
            f"{pad}- name: c",
            f"{pad}  image: i",
            f"{pad}  env: [{{name: K8S_NS, value: {self.choices.pick(['ais', 'lab', 'Lab_1'])}}}]",
            f"{pad}  volumeMounts: [{{name: {mount}, mountPath: /d}}]",
            f"{pad}volumes: [{{name: {volume}, emptyDir: {{}}}}]",
            f"{pad}priorityClassName: {self.choices.pick(['demo-critical', 'x'])}",
            f"{pad}affinity:",
            f"{pad}  podAntiAffinity:",
            f"{pad}    requiredDuringSchedulingIgnoredDuringExecution:",
            f"{pad}    - topologyKey: {key}",
        ]

    def object_lines(self, indent: int) -> list[str]:
        api_version, kind = self.choices.pick(NO_KINDS if self.chance(3) else KINDS)
        pad = " " * indent
        name = self.choices.pick(["demo-ais", "ais-cr", "local-storage", "psp", "demo-grafana"])
        if self.chance(5):
            name = self.choices.pick(["", "[a]", '"a\\eb"', "{a: 1}"])
        lines = [
            f"{pad}apiVersion: {api_version}",
            f"{pad}kind: {kind}",
            f"{pad}metadata:",
            f"{pad}  name: {name}",
            f"{pad}  namespace: {'ais' if self.chance(90) else self.choices.pick(['lab', '{a: 1}'])}",
            f"{pad}  labels: {{release: {'demo' if self.chance(90) else self.choices.pick(['demo.v2', 'r' * 54])}}}",
        ]
        if kind == "List":
            lines.append(f"{pad}items:")
            for _ in range(self.choices.integer(0, 3)):
                item = self.object_lines(0) if self.chance(80) else [self.flow(2)]
                lines.append(f"{pad}- {item[0]}")
                lines += [f"{pad}  {line}" for line in item[1:]]
        elif kind in ("Pod",):
            lines += [f"{pad}spec:", *self.pod_spec(indent + 2)]
        elif kind in ("StatefulSet", "Deployment", "DaemonSet"):
            lines += [f"{pad}spec:", f"{pad}  template:", f"{pad}    metadata: {{labels: {{app: x}}}}"]
            lines += [f"{pad}    spec:", *self.pod_spec(indent + 6)]
        elif kind in ("ClusterRole", "Role"):
            lines += [f"{pad}rules:", f"{pad}- {{apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use]}}"]
        elif kind.endswith("Binding"):
            role = self.choices.pick(["ClusterRole", "Role"])
            lines += [f"{pad}roleRef: {{kind: {role}, name: {self.choices.pick(['ais-cr', 'psp', '[x]'])}}}"]
            lines += [f"{pad}subjects: [{{kind: ServiceAccount, name: sa, namespace: ais}}]"]
        if self.chance(30):
            lines += self.block(indent, 1)
        return lines

    def bomb(self) -> list[str]:
        levels = self.choices.integer(1, 9)
        lines = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"b{level}: &b{level} [{', '.join([f'*b{level - 1}'] * 10)}]" for level in range(1, levels)]
        return lines

    def document(self) -> str:
        self.anchors = []
        lines = self.object_lines(0)
        if self.chance(10):
            lines += self.bomb()
        if self.chance(10):
            lines.append("loop: &loop {again: *loop}" if self.chance(50) else "twice: {a: 1, a: 2}")
        source = "ais/templates/x.yaml" if self.chance(95) else self.choices.pick(["\x1b[2Jx.yaml", "a\rb\u202e", ""])
        header = "---\n" if self.chance(85) else self.choices.pick(["--- # c\n", "---\r\n", "", "---\n---\n"])
        comment = f"# Source: {source}\n" if source else ""
        return header + comment + "\n".join(lines) + "\n"

    def mutated(self, text: str) -> str:
        for _ in range(self.choices.integer(0, 3)):
            at = self.choices.integer(0, len(text))
            roll = self.choices.integer(1, 100)
            if roll <= 50:
                text = text[:at] + self.choices.pick(YAML_SPLICES) + text[at:]
            elif roll <= 75:
                text = text[:at] + text[at + self.choices.integer(1, 20) :]
            else:
                text = text[:at]
        return text

    def stream(self) -> str:
        documents = [self.document() for _ in range(self.choices.integer(1, 4))]
        text = "".join(documents)
        if self.chance(25):
            text = self.mutated(text)
        return text.replace("\n", "\r\n") if self.chance(10) else text


# -- The properties -----------------------------------------------------------------------------


def never_a_traceback(text: str) -> None:
    """Valid output the post-renderer reads back as it is, or one printable line per problem."""
    try:
        fixed = postrender(text)
    except PostrenderError as error:
        assert error.problems
        for problem in error.problems:
            assert problem and problem.isprintable(), problem
        return
    assert postrender(fixed) == fixed


def main_exits_cleanly(text: str) -> None:
    """What Helm sees: exit 0 and the output, or exit 1 and problems on stderr, nothing else."""
    stdout, stderr = io.BytesIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(text.encode("utf-8", "surrogatepass")))
    wrapped = io.TextIOWrapper(stdout)
    with contextlib.ExitStack() as stack:
        stack.enter_context(swapped(sys, "stdin", stdin))
        stack.enter_context(swapped(sys, "stdout", wrapped))
        stack.enter_context(swapped(sys, "stderr", stderr))
        status = main()
    wrapped.flush()
    problems = stderr.getvalue().splitlines()
    if status == 0:
        assert problems == []
        assert stdout.getvalue() == postrender(text).encode()
    else:
        assert status == 1 and stdout.getvalue() == b"" and problems
        assert all(line.startswith("aisinfra postrender: ") and line.isprintable() for line in problems)


@contextlib.contextmanager
def swapped(owner: Any, name: str, value: Any) -> Iterator[None]:
    before = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, before)


def written_alike(text: str) -> None:
    """libyaml's emitter writes each document PyYAML's would, as written (no fix needed for that)."""
    try:
        documents = postrender_module._parse(text)
    except PostrenderError:
        return
    for document in documents:
        if not isinstance(document.current, dict) or "*" in document.text:
            continue  # aliases add nothing here but time: the values they stand for are written out
        with swapped(postrender_module, "_LIBYAML", True):
            with_libyaml = postrender_module._dump(document.current, document.node, "\n")
        with swapped(postrender_module, "_LIBYAML", False):
            without = postrender_module._dump(document.current, document.node, "\n")
        assert with_libyaml == without


def examples(check: Callable[[str], None], seed: int) -> None:
    """``check`` on EXAMPLES streams (tests/fuzzing.py)."""
    fuzzing.examples(lambda choices: Generator(choices).stream(), check, seed)


def test_the_generator_reaches_every_outcome() -> None:
    """The streams are not all refused: fixes run on many, problems of every kind on others."""
    choices = RandomChoices(SEED)
    accepted, changed, problems = 0, 0, set()
    for _ in range(EXAMPLES):
        text = Generator(choices).stream()
        try:
            changed += postrender(text) != text
            accepted += 1
        except PostrenderError as error:
            problems |= {problem.split("): ", 1)[-1] for problem in error.problems}
    assert accepted > EXAMPLES // 10 and changed > EXAMPLES // 20
    assert {"aliases expand to more than 1000000 values", "nested more than 100 levels deep"} <= problems
    assert any(problem.startswith("the key") for problem in problems)
    assert any("contain itself" in problem for problem in problems)
    assert any(problem.startswith("unacceptable character #x001b") for problem in problems)


def test_the_post_renderer_never_ends_in_a_traceback() -> None:
    examples(never_a_traceback, SEED)


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="this PyYAML has no libyaml: one way only")
def test_without_libyaml_it_never_ends_in_a_traceback_either(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postrender_module, "_LIBYAML", False)
    examples(never_a_traceback, SEED + 1)


def test_main_exits_0_with_manifests_or_1_with_problems() -> None:
    examples(main_exits_cleanly, SEED + 2)


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="this PyYAML has no libyaml: one way only")
def test_libyaml_writes_what_pyyaml_writes_or_leaves_it_to_pyyaml() -> None:
    examples(written_alike, SEED + 3)
