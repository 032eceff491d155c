"""The offline review: the program under Pulumi's mock runtime (``render``), its diff, and
``check`` across stacks. Imports every layer below it; only the CLI imports it."""
