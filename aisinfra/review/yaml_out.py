"""The YAML of the files ``render --out`` writes: by libyaml's emitter where PyYAML was built
with it (several times faster than PyYAML's own, which took most of a 2000-node render's
writing), byte for byte what PyYAML's own emitter writes, which it falls back to.

The two emitters write the same YAML except that they fold a long double-quoted string (the
preflight script of every Job) at different places, that they draw the line between a plain
``key:`` and the explicit ``? key`` form differently (the empty key, keys of about 128
characters or more, keys of other than printable ASCII), and after a document that is a lone
scalar. So no value is folded (each is written on one line, as the post-renderer does), and
documents with such keys, or that are not a mapping or a list, are left to PyYAML's emitter.

``render --diff DIR`` reads those files back by libyaml's parser too: the same values as
PyYAML's own parser, which took 20 s of CPU for a 2000-node render's resources.yaml.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

# Wider than any line: both emitters then write every value whole (libyaml takes a C int).
UNFOLDED_WIDTH = 2**31 - 1
# Keys up to this long both emitters write plainly (PyYAML counts the key's tag, !!str, too).
LONGEST_PLAIN_KEY = 100


def fastest_safe_dumper() -> Any:
    """libyaml's emitter where PyYAML was built with it, else PyYAML's own."""
    return yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper


def fastest_safe_loader() -> Any:
    """libyaml's parser where PyYAML was built with it, else PyYAML's own."""
    return yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


DUMPER = fastest_safe_dumper()
LOADER = fastest_safe_loader()


def load(text: str) -> Any:
    return yaml.load(text, Loader=LOADER)


def load_all(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=LOADER))


def dump(document: Any) -> str:
    return dump_all([document])


def dump_all(documents: Sequence[Any]) -> str:
    """The documents as YAML, keys sorted, every collection in block style."""
    alike = all(isinstance(document, dict | list) and _written_alike(document) for document in documents)
    return yaml.dump_all(
        documents,
        Dumper=DUMPER if alike else yaml.SafeDumper,
        sort_keys=True,
        default_flow_style=False,
        width=UNFOLDED_WIDTH,
    )


def _written_alike(value: Any) -> bool:
    """Whether both emitters write ``value`` the same: no key of it needs the ``? key`` form in one."""
    if isinstance(value, dict):
        return all(_plain_key(key) and _written_alike(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_written_alike(item) for item in value)
    return True


def _plain_key(key: Any) -> bool:
    text = key if isinstance(key, str) else str(key)
    return 0 < len(text) <= LONGEST_PLAIN_KEY and text.isascii() and text.isprintable()
