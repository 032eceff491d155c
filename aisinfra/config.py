"""Reading the worksheet out of the running Pulumi program's stack config."""

from __future__ import annotations

import pulumi
from pulumi.runtime import config as runtime_config

from aisinfra.worksheet import Worksheet, WorksheetError, load_worksheet

NAMESPACE = "aisinfra"


def read_worksheet() -> Worksheet:
    """All ``aisinfra:*`` keys of the stack, validated. Every key is read -- not only the
    known ones -- so that a misspelled key is reported instead of silently ignored."""
    prefix = f"{NAMESPACE}:"
    # The language host loads the whole stack config here before the program starts.
    everything = runtime_config.CONFIG.get()
    stack_config = {key[len(prefix) :]: value for key, value in everything.items() if key.startswith(prefix)}
    secret_keys = frozenset(key for key in stack_config if runtime_config.is_config_secret(prefix + key))
    try:
        return load_worksheet(stack_config, secret_keys)
    except WorksheetError as error:
        # RunError makes the CLI print the message alone, without a Python traceback.
        raise pulumi.RunError(str(error)) from None


def grafana_admin_password() -> pulumi.Output[str] | None:
    return pulumi.Config(NAMESPACE).get_secret("grafanaAdminPassword")
