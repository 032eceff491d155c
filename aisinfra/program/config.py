"""Reading the worksheet and the deployed state out of the running Pulumi program's stack."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NoReturn

import pulumi

from aisinfra.chart.rules import load_worksheet
from aisinfra.program import sdk
from aisinfra.program.safety import (
    DeployedOutputError,
    DeployedState,
    UnsafeChangeError,
    forced_patch_problems,
    respelled_chart,
    unsafe_changes,
)
from aisinfra.worksheet.model import Worksheet, WorksheetError
from aisinfra.worksheet.stackfile import PREFIX, project_keys

# What `pulumi.get_organization()` returns on a local (file, "DIY") state backend.
FILE_BACKEND_ORGANIZATION = "organization"


def self_reference_name(organization: str, project: str, stack: str) -> str:
    """The name under which this stack's backend finds the stack itself. A file backend in
    its legacy layout rejects any name with a '/', and the bare stack name works in both of
    its layouts; Pulumi Cloud needs the full ``<org>/<project>/<stack>``."""
    if organization == FILE_BACKEND_ORGANIZATION:
        return stack
    return f"{organization}/{project}/{stack}"


def read_deployed_state() -> DeployedState:
    """The outputs of this stack's last successful update, read through a StackReference to
    the stack itself; empty for a stack that was never deployed."""
    name = self_reference_name(pulumi.get_organization(), pulumi.get_project(), pulumi.get_stack())
    reference = pulumi.StackReference(f"{pulumi.get_stack()}-deployed", stack_name=name)
    # Waiting here lets a refusal stop the program before any other resource is registered.
    outputs: dict[str, Any] | None = sdk.wait_for(reference.outputs.future())
    try:
        return DeployedState.from_outputs(outputs or {})
    except DeployedOutputError as error:
        refuse(error, DeployedState(outputs=dict(outputs or {})))


def read_worksheet(deployed: DeployedState) -> Worksheet:
    """All ``aisinfra:*`` keys of the stack, validated. Every key is read -- not only the
    known ones -- so that a misspelled key is reported instead of silently ignored."""
    stack_config = sdk.stack_config()
    secret_keys = frozenset(key for key in project_keys(stack_config) if sdk.is_secret(PREFIX + key))
    try:
        return judged_worksheet(stack_config, secret_keys, os.environ)
    except WorksheetError as error:
        refuse(error, deployed)


def judged_worksheet(
    stack_config: Mapping[str, str], secret_keys: frozenset[str], environment: Mapping[str, str]
) -> Worksheet:
    """The worksheet of a stack's whole config (``secret_keys`` without their namespace), or a
    WorksheetError with every problem the program refuses it for before it registers anything:
    the worksheet's rules, keys in a near miss of the ``aisinfra`` namespace, and settings that
    force every patch. ``check`` judges a stack file with it too."""
    forced = forced_patch_problems(stack_config, environment)
    try:
        worksheet = load_worksheet(project_keys(stack_config), secret_keys, other_keys=stack_config)
    except WorksheetError as error:
        raise WorksheetError([*error.problems, *forced], error.waiting) from None
    if forced:
        raise WorksheetError(forced)
    return worksheet


def refuse_unsafe_changes(worksheet: Worksheet, deployed: DeployedState) -> None:
    problems = unsafe_changes(deployed, worksheet)
    if problems:
        refuse(UnsafeChangeError(problems), deployed)
    note = respelled_chart(deployed, worksheet)
    if note is not None:
        pulumi.log.warn(note)


def refuse(error: WorksheetError, deployed: DeployedState) -> NoReturn:
    """Stop the run with ``error``, exporting the deployed outputs again first. The SDK
    registers the stack's outputs even when the program fails, and a Pulumi CLI older than
    3.112 saves them as the stack's outputs: without this, one refused run would leave the
    guard an empty (never deployed) stack and let the next run through unchecked."""
    for key, value in deployed.outputs.items():
        pulumi.export(key, value)
    # RunError makes the CLI print the message alone, without a Python traceback.
    raise pulumi.RunError(str(error))
