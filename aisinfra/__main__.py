import sys

try:
    from aisinfra.cli import main
except ModuleNotFoundError as error:
    # The commands need requirements-review.txt (Helm's engine, the Kubernetes schemas); a
    # virtualenv made from requirements.txt alone (as `pulumi` makes it) lacks them.
    print(
        f"error: the Python package '{error.name}' is not installed in this environment; "
        "`make render` installs what the commands need (requirements-review.txt)",
        file=sys.stderr,
    )
    sys.exit(1)

sys.exit(main())
