"""Reading the worksheet out of the running Pulumi program's stack config."""

from __future__ import annotations

import pulumi
from pulumi.runtime import config as runtime_config
from pulumi.runtime.sync_await import _sync_await

from aisinfra.chart.rules import load_worksheet
from aisinfra.program.safety import DeployedState, UnsafeChangeError, unsafe_changes
from aisinfra.worksheet.model import Worksheet, WorksheetError
from aisinfra.worksheet.stackfile import PREFIX, project_keys


def read_worksheet() -> Worksheet:
    """All ``aisinfra:*`` keys of the stack, validated. Every key is read -- not only the
    known ones -- so that a misspelled key is reported instead of silently ignored."""
    # The language host loads the whole stack config here before the program starts.
    all_keys = runtime_config.CONFIG.get()
    stack_config = project_keys(all_keys)
    secret_keys = frozenset(key for key in stack_config if runtime_config.is_config_secret(PREFIX + key))
    try:
        return load_worksheet(stack_config, secret_keys, other_keys=all_keys)
    except WorksheetError as error:
        # RunError makes the CLI print the message alone, without a Python traceback.
        raise pulumi.RunError(str(error)) from None


def read_deployed_state() -> DeployedState:
    """The outputs of this stack's last successful update, read through a StackReference to
    the stack itself; empty for a stack that was never deployed."""
    stack = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    reference = pulumi.StackReference(f"{pulumi.get_stack()}-deployed", stack_name=stack)
    # Waiting here, as synchronous invokes do, lets a refusal stop the program before any
    # other resource is registered.
    outputs = _sync_await(reference.outputs.future()) or {}
    return DeployedState.from_outputs(outputs)


def refuse_unsafe_changes(worksheet: Worksheet, deployed: DeployedState) -> None:
    problems = unsafe_changes(deployed, worksheet)
    if problems:
        raise pulumi.RunError(str(UnsafeChangeError(problems)))
