"""``python -m aisinfra``: the operator's commands around the Pulumi program."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aisinfra.chart.naming import CLUSTER_LABEL_KEY, INITIAL_PRIMARY_LABEL_KEY, PROXY_LABEL_KEY, TARGET_LABEL_KEY
from aisinfra.chart.rules import load_worksheet
from aisinfra.monitoring.dashboards import dashboard_files
from aisinfra.review import chart_render, manifests, object_checks, render, yaml_out
from aisinfra.review.check import check_rendered_stacks, check_stacks
from aisinfra.review.consequences import release_consequences
from aisinfra.review.diff import diff_renders
from aisinfra.review.manifest_diff import DuplicateObjectError, diff_manifests
from aisinfra.review.teardown import dependents, node_names, vanished_patches, without_resources
from aisinfra.worksheet import reference
from aisinfra.worksheet.model import Problem, WorksheetError
from aisinfra.worksheet.questionnaire import QUESTIONS, AnswerError, ask_all, stack_config, stack_name_problem
from aisinfra.worksheet.stackfile import (
    PROJECT_DIR,
    StackConfig,
    StackFileError,
    all_stacks,
    read_stack,
    stack_from_document,
    stack_path,
)

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
# No problem in what was checked, but the chart's objects of some stack were not: no verdict.
EXIT_NOT_REVIEWED = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C


class UsageError(Exception):
    """The command was called wrongly (exit 2), as opposed to problems it found (exit 1)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        return int(arguments.run(arguments))
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (
        StackFileError,
        WorksheetError,
        AnswerError,
        render.ProgramError,
        chart_render.ChartRenderError,
        DuplicateObjectError,
        OSError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m aisinfra", description=__doc__)
    parser.add_argument(
        "--stacks-dir",
        type=Path,
        default=PROJECT_DIR,
        help="where the Pulumi.STACK.yaml files are (default: the project directory)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser(
        "init",
        help="fill in the deployment worksheet and write Pulumi.STACK.yaml",
        description="Ask the worksheet's questions in its order, with its defaults, check each answer "
        "at its prompt with every rule the answers so far allow, and write Pulumi.STACK.yaml. A bad "
        "answer is asked again; '<' goes back to the previous question asked, '<KEY' to the one of that key; "
        "Ctrl-C stops without writing. Every answer can be given as a flag; with --no-input flags and defaults "
        "are used, and every bad or missing flag is reported in one run. Without a terminal, --no-input is "
        "required: answers are never read from a pipe.",
    )
    init.add_argument("stack", help="stack name: writes Pulumi.STACK.yaml")
    for question in QUESTIONS:
        init.add_argument(
            question.flag, dest=f"answer_{question.key}", metavar="VALUE", help=f"{question.text} [{question.key}]"
        )
    init.add_argument("--no-input", action="store_true", help="never prompt, even on a terminal")
    init.add_argument("--force", action="store_true", help="overwrite an existing stack file")
    init.set_defaults(run=_init)

    check = commands.add_parser(
        "check",
        help="validate stacks, alone and against each other",
        description="Validate each stack with the program's model, then check that no two stacks in the "
        "same Kubernetes context share a release name, a namespace, a target node, a proxy node or a "
        "PersistentVolume name. Then render every stack whose chart is here and check each object the "
        "cluster would get (Kubernetes schemas of kubernetesVersion, node selectors, volumes, claims, host "
        "paths, anti-affinity, references) and that no two stacks in one context create the same "
        "cluster-scoped object. One line per problem; exit 0 when clean, 1 on problems, 2 on usage errors.",
    )
    check.add_argument("stacks", nargs="*", metavar="STACK", help="stack names (default: every Pulumi.*.yaml)")
    check.add_argument(
        "--chart",
        type=Path,
        metavar="DIR",
        help="render every stack with this chart directory instead of its own chart.path",
    )
    check.set_defaults(run=_check)

    render_parser = commands.add_parser(
        "render",
        help="run the program for a stack under Pulumi's mock runtime and show what it registers",
        description="Run __main__.py for Pulumi.STACK.yaml under Pulumi's mock runtime (no CLI, no "
        "cluster) and print the resource tree, grouped as `pulumi preview` groups it, and each "
        "node's labels. Secure config values are shown as [secret]. When the stack's chart is here, "
        "also render it as the Release does (Helm's engine, then the post-renderer), summarize its "
        "objects, and check each one; exit 1 naming the object and the worksheet key on a problem.",
    )
    render_parser.add_argument("stack", help="stack name: reads Pulumi.STACK.yaml")
    render_parser.add_argument(
        "--out",
        type=Path,
        help="also write values.yaml, release.yaml, manifests.yaml, resources.yaml and, when the chart is "
        f"rendered, {manifests.RELEASE_OBJECTS_FILE} here",
    )
    render_parser.add_argument(
        "--chart",
        type=Path,
        metavar="DIR",
        help="render this chart directory instead of the stack's chart.path (a local copy of a repository "
        "chart, or a checkout elsewhere)",
    )
    render_parser.add_argument(
        "--diff",
        metavar="OTHER_STACK_OR_DIR",
        help="instead of the tree, show per resource what differs from OTHER (a stack name, or a directory "
        "written by an earlier `render --out`) to STACK; then, when both sides' charts render (or OTHER's "
        "directory holds the chart's objects), per object what the Release installs differently and what that does: "
        "the pods it restarts, or an update the API server refuses (exit 1)",
    )
    render_parser.set_defaults(run=_render)

    labels = commands.add_parser(
        "labels",
        help="print the kubectl label commands equivalent to what the program applies",
        description="The exact `kubectl label node` commands that put on each node the labels the program "
        "applies for STACK, for sites where another team labels nodes. No --overwrite: like the program, "
        "they fail rather than take over a label that someone else set.",
    )
    labels.add_argument("stack", help="stack name: reads Pulumi.STACK.yaml")
    labels.add_argument("--remove", action="store_true", help="print the commands that remove those labels")
    labels.set_defaults(run=_labels)

    teardown = commands.add_parser(
        "teardown-check",
        help="label patches in the state whose node is gone (run before `pulumi destroy`)",
        description="Lists the label patches in STACK's state whose node no longer exists in Kubernetes: "
        "deleting one (`pulumi destroy`, which does not run the program, or an `up` after the node left the "
        "worksheet) would create an empty Node of that name. With --out, writes the state without them, for "
        "`pulumi stack import`. Exit 0: none; 1: some (or a file that cannot be read).",
    )
    teardown.add_argument("stack", help="the Pulumi stack, as given to `pulumi stack export --stack STACK`")
    teardown.add_argument(
        "--state", required=True, type=Path, help="the output of `pulumi stack export --stack STACK --file FILE`"
    )
    teardown.add_argument(
        "--nodes", required=True, type=Path, help="the output of `kubectl get nodes -o name` for the stack's cluster"
    )
    teardown.add_argument("--out", type=Path, help="write the state without those patches here")
    teardown.set_defaults(run=_teardown_check)
    docs = commands.add_parser(
        "docs",
        help="write the worksheet reference and the stack file's JSON Schema, generated from the model",
        description=f"Write {reference.REFERENCE_PAGE} (every worksheet key: type, default, rules, init flag, "
        f"example) and {reference.SCHEMA_FILE} (the JSON Schema of Pulumi.STACK.yaml, for editors), both "
        "generated from the worksheet's model.",
    )
    docs.add_argument("--out", type=Path, default=reference.DOCS_DIR, help="directory to write to (default: docs/)")
    docs.set_defaults(run=_docs)
    return parser


def _stack_file(arguments: argparse.Namespace, stack: str) -> Path:
    path = stack_path(stack, arguments.stacks_dir)
    if not path.is_file():
        raise UsageError(f"no stack file {path.name} in {arguments.stacks_dir}")
    return path


def stack_judge(path: Path) -> Callable[[dict[str, Any]], list[Problem]]:
    """Every problem of a stack file's config, judged as the program will read it: through
    the CLI's merge with Pulumi.yaml and every rule, the worksheet's and the chart's."""

    def judge(config: dict[str, Any]) -> list[Problem]:
        stack = stack_from_document({"config": config}, path)
        try:
            load_worksheet(stack.project_values(), stack.project_secret_keys())
        except WorksheetError as error:
            return error.problems
        return []

    return judge


def _init(arguments: argparse.Namespace) -> int:
    problem = stack_name_problem(arguments.stack)
    if problem is not None:
        raise UsageError(problem)
    if not arguments.stacks_dir.is_dir():
        raise UsageError(f"--stacks-dir {arguments.stacks_dir}: no such directory; create it or name another")
    path = stack_path(arguments.stack, arguments.stacks_dir)
    if path.exists() and not arguments.force:
        raise UsageError(f"{path.name} exists; use --force to overwrite it")
    given = {question.key: getattr(arguments, f"answer_{question.key}") for question in QUESTIONS}
    if not arguments.no_input and not sys.stdin.isatty():
        # Which questions come depends on the answers, so lines from a pipe would answer the wrong ones.
        raise UsageError(
            "standard input is not a terminal, so init cannot ask its questions; give the answers as flags "
            f"with --no-input (init {arguments.stack} --no-input --release-name ... ; `init --help` lists them)"
        )
    interactive = not arguments.no_input
    if interactive:
        print(
            "Enter keeps the [default]; '<' goes back to the previous question, '<KEY' to the question of that key; "
            "Ctrl-C stops, writing nothing."
        )
    config = stack_config(ask_all(given, input if interactive else None, stack_judge(path)))
    stack = stack_from_document({"config": config}, path)
    load_worksheet(stack.project_values(), stack.project_secret_keys())
    # The first line lets editors (yaml-language-server) check the file against its schema as it is edited.
    path.write_text(f"{reference.schema_comment(path)}\n{yaml.safe_dump({'config': config}, sort_keys=False)}")
    print(f"wrote {path}")
    print(_next_steps(arguments, config))
    return EXIT_OK


def _next_steps(arguments: argparse.Namespace, config: dict[str, Any]) -> str:
    """The commands to run next, exactly as the user can run them from where they are."""
    elsewhere = Path.cwd().resolve() != PROJECT_DIR
    command = f"cd {shlex.quote(str(PROJECT_DIR))} && " if elsewhere else ""
    command += "venv/bin/python -m aisinfra"
    stacks_dir = arguments.stacks_dir.resolve()
    if stacks_dir != PROJECT_DIR:
        shown = stacks_dir if elsewhere else arguments.stacks_dir
        command += f" --stacks-dir {shlex.quote(str(shown))}"
    stack = shlex.quote(arguments.stack)
    lines = ["next:", f"  {command} check", f"  {command} render {stack}"]
    if stacks_dir != PROJECT_DIR:
        lines.append(
            f"  then move {stack_path(arguments.stack, stacks_dir).name} to {PROJECT_DIR}, where Pulumi reads it"
        )
    lines.append(f"  then deploy as docs/deploying.md says (pulumi stack init {stack}, ...)")
    if config.get("aisinfra:monitoring", {}).get("enabled"):
        lines.append(f"  and give Grafana a password: pulumi config set --secret grafanaAdminPassword --stack {stack}")
    return "\n".join(lines)


def _check(arguments: argparse.Namespace) -> int:
    paths = [_stack_file(arguments, stack) for stack in arguments.stacks] or all_stacks(arguments.stacks_dir)
    if not paths:
        raise UsageError(f"no Pulumi.*.yaml stack files in {arguments.stacks_dir}")
    stacks, problems = [], []
    for path in paths:
        try:
            stacks.append(read_stack(path))
        except StackFileError as error:
            problems.append(str(error))
    report = check_stacks(stacks)
    rendered = check_rendered_stacks(stacks, arguments.chart)
    problems += report.problems + rendered.problems
    for line in problems + report.notes:
        print(line)
    for note in rendered.notes:  # why a stack's chart could not be rendered, and how to get it
        print(note, file=sys.stderr)
    verdict = f"{len(problems)} problem(s)" if problems else "no problems"
    if rendered.unreviewed:
        verdict += (
            f"; not reviewed: the objects of {', '.join(rendered.unreviewed)}, whose chart is not here (give one "
            "with --chart DIR; how to get it is on stderr)"
        )
    print(f"checked {len(paths)} stack(s): {verdict}")
    if problems:
        return EXIT_PROBLEMS
    return EXIT_NOT_REVIEWED if rendered.unreviewed else EXIT_OK


@dataclass(frozen=True)
class _RenderOutput:
    """A directory an earlier ``render --out`` wrote, and the resources in it, read once."""

    directory: Path
    resources: list[dict[str, Any]]


def _other_render(arguments: argparse.Namespace, other: str) -> render.Rendering | _RenderOutput:
    """What ``--diff OTHER`` compares with: another stack run under mocks, or a directory an
    earlier ``render --out`` wrote."""
    directory = Path(other)
    if directory.is_dir():
        return _RenderOutput(directory, _render_output(directory))
    if directory.exists() or "/" in other:
        raise UsageError(f"{other} is not a directory written by `render STACK --out DIR`, nor a stack name")
    return render.run_program(read_stack(_stack_file(arguments, other)))


def _resources(other: render.Rendering | _RenderOutput) -> list[dict[str, Any]]:
    if isinstance(other, _RenderOutput):
        return other.resources
    return render.resource_documents(other)


def _release_objects(side: render.Rendering | _RenderOutput, chart_dir: Path | None = None) -> list[manifests.Manifest]:
    """The objects a side's Release installs, Secrets redacted on both sides alike (a directory
    holds them redacted); raises ChartUnavailableError when they cannot be had."""
    if isinstance(side, _RenderOutput):
        if not (side.directory / manifests.RELEASE_OBJECTS_FILE).is_file():
            raise chart_render.ChartUnavailableError(
                f"{side.directory} has no {manifests.RELEASE_OBJECTS_FILE} (it was written without the chart)"
            )
        try:
            return manifests.read_release_objects(side.directory)
        except (UnicodeDecodeError, yaml.YAMLError) as error:
            raise _not_a_render(side.directory, f"{manifests.RELEASE_OBJECTS_FILE} is not YAML", error) from None
    release = chart_render.ReleaseInputs.of(side)
    chart = chart_render.render_release(side, chart_render.locate_chart(release, chart_dir))
    return [manifests.redacted(rendered.manifest) for rendered in chart.objects]


def _print_release_objects_diff(
    arguments: argparse.Namespace, rendering: render.Rendering, other: render.Rendering | _RenderOutput
) -> int:
    """The object-level diff of what the two Releases install -- what `pulumi preview` never
    shows for a Release -- with what each change does, or, on stderr, why it cannot be shown.
    Returns how many of the changed objects the API server would refuse."""
    sides: dict[str, list[manifests.Manifest]] = {}
    reasons = []
    for name, side, chart_dir in (("before", other, None), ("after", rendering, arguments.chart)):
        try:
            sides[name] = _release_objects(side, chart_dir)
        except chart_render.ChartUnavailableError as error:
            reasons.append(str(error))
    heading = f"Objects the Release installs (chart rendered, post-rendered), {arguments.diff} -> {arguments.stack}:"
    if reasons:
        print(f"\n{heading} not compared: {'; '.join(reasons)}.", file=sys.stderr)
        return 0
    whole = f"{manifests.RELEASE_OBJECTS_FILE} of `render {arguments.stack} --out DIR`"
    found = release_consequences(sides["before"], sides["after"], rendering.release().inputs["name"])
    notes = {key: [consequence.line for consequence in consequences] for key, consequences in found.items()}
    lines = diff_manifests(sides["before"], sides["after"], whole_manifests=whole, notes=notes)
    print("\n".join(["", heading, *lines]) if lines else f"\n{heading} no differences")
    return sum(consequence.refused for consequences in found.values() for consequence in consequences)


def _render_diff(arguments: argparse.Namespace, stack: StackConfig) -> int:
    """What changing OTHER into STACK does. A directory that ``render --out`` wrote is taken as the
    deployed cluster: the program runs with its outputs as the stack's last ones, as `pulumi up`
    would, so every refusal of the deployed-state guard shows before the diff."""
    other = _other_render(arguments, arguments.diff)
    refusal = None
    if isinstance(other, _RenderOutput):
        try:
            rendering = render.run_program(stack, deployed_outputs=_render_outputs(other.directory))
        except render.ProgramError as error:
            refusal = error
    if refusal is not None or not isinstance(other, _RenderOutput):
        rendering = render.run_program(stack)
    if refusal is not None:
        print(f"! `pulumi up` will refuse this change, with {arguments.diff} as what is deployed: {refusal}\n")
    lines = diff_renders(_resources(other), render.resource_documents(rendering))
    print("\n".join(lines) if lines else f"no differences between {arguments.diff} and {arguments.stack}")
    refused = _print_release_objects_diff(arguments, rendering, other)
    if refused:
        print(
            f"error: the API server would refuse {refused} object(s) of the Release's upgrade ('! refused' "
            "above), failing `pulumi up`",
            file=sys.stderr,
        )
    if refusal is not None:
        print("error: `pulumi up` will refuse this change ('! `pulumi up` will refuse' above)", file=sys.stderr)
    return EXIT_PROBLEMS if refused or refusal is not None else EXIT_OK


def _render_outputs(directory: Path) -> dict[str, Any]:
    """The stack outputs an earlier ``render --out`` wrote (as `pulumi up` would have exported them)."""
    path = directory / render.OUTPUTS_FILE
    try:
        outputs = yaml_out.load(path.read_bytes().decode("utf-8")) if path.is_file() else None
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise _not_a_render(directory, f"{path.name} is not YAML", error) from None
    if not isinstance(outputs, dict):
        raise _not_a_render(directory, f"it has no {render.OUTPUTS_FILE} of stack outputs")
    return outputs


def _render_output(directory: Path) -> list[dict[str, Any]]:
    """The resources an earlier ``render --out`` wrote; anything else is refused, saying so."""
    resources = directory / render.RESOURCES_FILE
    if not resources.is_file():
        raise _not_a_render(directory, f"it has no {render.RESOURCES_FILE}; write one with `render STACK --out DIR`")
    try:
        documents = yaml_out.load(resources.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise _not_a_render(directory, f"{resources.name} is not YAML", error) from None
    shaped = isinstance(documents, list) and all(
        isinstance(document, dict)
        and isinstance(document.get("type"), str)
        and isinstance(document.get("name"), str)
        and isinstance(document.get("inputs", {}), dict)
        for document in documents
    )
    if not shaped:
        raise _not_a_render(directory, f"{resources.name} is not a list of rendered resources (type, name, inputs)")
    return documents


def _not_a_render(directory: Path, why: str, error: Exception | None = None) -> UsageError:
    detail = f" ({' '.join(str(error).split())})" if error is not None else ""
    return UsageError(f"{directory} is not a `render STACK --out DIR` result: {why}{detail}")


# The command keeps what it makes until it ends: render.collector_paused says why.
@render.collector_paused()
def _render(arguments: argparse.Namespace) -> int:
    stack = read_stack(_stack_file(arguments, arguments.stack))
    if arguments.diff is not None:
        return _render_diff(arguments, stack)
    rendering = render.run_program(stack)
    print(render.summary_text(rendering))
    written = render.write_outputs(rendering, arguments.out) if arguments.out is not None else []
    if arguments.out is not None:
        worksheet = load_worksheet(stack.project_values(), stack.project_secret_keys())
        written += render.write_dashboards(dashboard_files(worksheet), arguments.out)
    problems, clean, unreviewed = [], "", ""
    try:
        deployment = object_checks.deployment_of(stack, arguments.chart, rendering)
    except chart_render.ChartUnavailableError as error:
        unreviewed = f"\nNot reviewed: the chart's objects are not rendered, so none of them was checked: {error}."
        if arguments.out is not None:
            manifests.remove_release_objects(arguments.out)
    else:
        print(f"\n{manifests.summary_text(deployment.chart)}")
        if arguments.out is not None:
            written += manifests.write_release_objects(deployment.chart, arguments.out)
        problems = object_checks.deployment_problems(deployment)
        clean = "" if problems else object_checks.clean_text(deployment)
    for path in written:
        print(f"wrote {path}")
    chart_problems = render.chart_problems(rendering)
    for problem in chart_problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"\n{len(problems)} problem(s) in the objects the cluster would get (worksheet key in brackets):")
        print("\n".join(str(problem) for problem in problems))
    elif clean:
        print(f"\n{clean}")
    if unreviewed:
        print(unreviewed)
    if problems or chart_problems:
        return EXIT_PROBLEMS
    return EXIT_NOT_REVIEWED if unreviewed else EXIT_OK


def _labels(arguments: argparse.Namespace) -> int:
    rendering = render.run_program(read_stack(_stack_file(arguments, arguments.stack)))
    order = (TARGET_LABEL_KEY, PROXY_LABEL_KEY, CLUSTER_LABEL_KEY, INITIAL_PRIMARY_LABEL_KEY)
    for node, labels in rendering.node_labels().items():
        # Every label the program applies, in one order whichever role's patch set it first.
        keys = sorted(labels, key=lambda key: order.index(key) if key in order else len(order))
        changes = [f"{key}-" for key in keys] if arguments.remove else [f"{key}={labels[key]}" for key in keys]
        print(f"kubectl label node {node} {' '.join(changes)}")
    return EXIT_OK


def _teardown_check(arguments: argparse.Namespace) -> int:
    try:
        export = json.loads(arguments.state.read_text())
        vanished = vanished_patches(export, node_names(arguments.nodes.read_text()))
    except (json.JSONDecodeError, ValueError, AttributeError) as error:
        raise UsageError(f"{arguments.state}: not a `pulumi stack export` result ({error})") from None
    stack = shlex.quote(arguments.stack)
    if not vanished:
        print(
            f"every label patch in the state of {arguments.stack} names a node that exists: deleting them creates "
            "no Node"
        )
        return EXIT_OK
    print(
        f"{len(vanished)} label patch(es) in the state of {arguments.stack} name a node that no longer exists; "
        "deleting them (`pulumi destroy`, or an `up` once the node left the worksheet) would create an empty Node "
        "of that name:"
    )
    for patch in vanished:
        print(f"  {patch.node}  {patch.urn}")
    urns = {patch.urn for patch in vanished}
    blocking = dependents(export, urns)
    if blocking:
        print(
            f"`pulumi state delete` refuses them: {', '.join(urn.rpartition('::')[2] for urn in blocking)} "
            "depend(s) on them."
        )
    if arguments.out is None:
        print("Run again with --out FILE to write the state without them (nothing in the cluster changes).")
        return EXIT_PROBLEMS
    arguments.out.write_text(json.dumps(without_resources(export, urns), indent=4) + "\n")
    print(f"Wrote {arguments.out}: the state without them and without any reference to them. Then:")
    print(f"  pulumi stack import --stack {stack} --file {shlex.quote(str(arguments.out))}")
    print(
        "  decommission each missing target in AIStore first (ais cluster add-remove-nodes decommission); "
        "then `pulumi destroy`, or take the nodes out of the worksheet and `pulumi up`"
    )
    return EXIT_PROBLEMS


def _docs(arguments: argparse.Namespace) -> int:
    if not arguments.out.is_dir():
        raise UsageError(f"--out {arguments.out}: no such directory; create it or name another")
    for name, text in reference.generated_files().items():
        (arguments.out / name).write_text(text)
        print(f"wrote {arguments.out / name}")
    return EXIT_OK
