"""The worksheet coming in: its model and rules, its patterns, stack files, and ``init``.
The lowest layer: it imports nothing else of aisinfra."""
