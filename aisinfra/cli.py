"""``python -m aisinfra``: the operator's commands around the Pulumi program."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from aisinfra import render
from aisinfra.stackfile import StackFileError, read_stack, stack_path
from aisinfra.worksheet import WorksheetError

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aisinfra", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    render_parser = commands.add_parser(
        "render",
        help="run the program for a stack under Pulumi's mock runtime and show what it registers",
        description="Run __main__.py for Pulumi.STACK.yaml under Pulumi's mock runtime (no CLI, no "
        "cluster) and print the resource tree, grouped as `pulumi preview` groups it, and each "
        "node's labels. Secure config values are shown as [secret].",
    )
    render_parser.add_argument("stack", help="stack name: reads Pulumi.STACK.yaml")
    render_parser.add_argument(
        "--out", type=Path, help="also write values.yaml, release.yaml and manifests.yaml into this directory"
    )
    render_parser.set_defaults(run=_render)

    arguments = parser.parse_args(argv)
    try:
        return int(arguments.run(arguments))
    except (StackFileError, WorksheetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    except render.ProgramError as failure:
        print(f"error: {failure}", file=sys.stderr)
        return EXIT_PROBLEMS


def _render(arguments: argparse.Namespace) -> int:
    stack = read_stack(stack_path(arguments.stack))
    rendering = render.run_program(stack)
    print(render.summary_text(rendering))
    chart = rendering.release().inputs["chart"]
    if rendering.release().inputs.get("repositoryOpts") is None and not (render.PROJECT_DIR / chart).exists():
        print(
            f"note: the chart path '{chart}' does not exist here; render does not need it, "
            "but `pulumi preview` will fail until it does (see README: getting the chart)."
        )
    if arguments.out is not None:
        for path in render.write_outputs(rendering, arguments.out):
            print(f"wrote {path}")
    return EXIT_OK
