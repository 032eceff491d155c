"""The YAML of the files ``render --out`` writes: by libyaml's emitter where PyYAML was built
with it (several times faster than PyYAML's own, which took most of a 2000-node render's
writing), byte for byte what PyYAML's own emitter writes, which it falls back to.

The two emitters write the same YAML except that they fold a long double-quoted string (the
preflight script of every Job) at different places, that they draw the line between a plain
``key:`` and the explicit ``? key`` form differently (the empty key, keys of about 128
characters or more, keys of other than printable ASCII), and after a document that is a lone
scalar. So no value is folded (each is written on one line, as the post-renderer does), and
documents with such keys, or that are not a mapping or a list, are left to PyYAML's emitter.

Both are given the nodes PyYAML's safe representer would make, made by a representer for plain
data that skips its dispatch on every value's type (``_PlainDataRepresenter``): a quarter of the
writing at 2000 nodes.

``render --diff DIR`` reads those files back by libyaml's parser too: the same values as
PyYAML's own parser, which took 20 s of CPU for a 2000-node render's resources.yaml.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
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
    if all(isinstance(document, dict | list) for document in documents):
        try:
            return _dump_all(documents, _plain_data(DUMPER, keys_written_alike=True))
        except _KeyNotWrittenAlikeError:
            pass
    return _dump_all(documents, _plain_data(yaml.SafeDumper, keys_written_alike=False))


def _dump_all(documents: Sequence[Any], dumper: Any) -> str:
    return yaml.dump_all(documents, Dumper=dumper, sort_keys=True, default_flow_style=False, width=UNFOLDED_WIDTH)


class _KeyNotWrittenAlikeError(Exception):
    """A key one emitter writes as ``? key`` and the other does not."""


def _plain_key(key: Any) -> bool:
    text = key if isinstance(key, str) else str(key)
    return 0 < len(text) <= LONGEST_PLAIN_KEY and text.isascii() and text.isprintable()


_STR, _INT, _BOOL, _NULL = (f"tag:yaml.org,2002:{name}" for name in ("str", "int", "bool", "null"))
_SEQ, _MAP = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"


class _PlainDataRepresenter:
    """The nodes PyYAML's ``SafeRepresenter`` makes of dicts, lists, strings, integers, booleans
    and None -- aliases of a dict or list met twice in a document, keys sorted where they sort,
    the same styles -- made without its dispatch on every value's type, which took most of
    writing a 2000-node render's files. Any other value (a float) is left to it. With
    ``keys_written_alike``, a key the two emitters would write differently stops the dump."""

    keys_written_alike = False
    # SafeRepresenter's, on the dumper this is mixed into.
    represented_objects: dict[int, yaml.Node]
    object_keeper: list[Any]
    sort_keys: bool
    default_flow_style: bool | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_keys: dict[Any, bool] = {}

    def represent_data(self, data: Any) -> yaml.Node:
        kind = type(data)
        if kind is str:
            return yaml.ScalarNode(_STR, data)
        if kind is dict or kind is list:
            node = self.represented_objects.get(id(data))
            if node is not None:  # met before in this document: the serializer makes an alias
                return node
            self.object_keeper.append(data)
            return self._mapping(data) if kind is dict else self._sequence(data)
        if kind is int:
            return yaml.ScalarNode(_INT, str(data))
        if kind is bool:
            return yaml.ScalarNode(_BOOL, "true" if data else "false")
        if data is None:
            return yaml.ScalarNode(_NULL, "null")
        return super().represent_data(data)  # type: ignore[misc]

    def _mapping(self, mapping: dict[Any, Any]) -> yaml.Node:
        pairs: list[tuple[yaml.Node, yaml.Node]] = []
        node = yaml.MappingNode(_MAP, pairs)
        self.represented_objects[id(mapping)] = node
        items = list(mapping.items())
        if self.sort_keys:
            with contextlib.suppress(TypeError):  # keys of types that do not compare: in their own order
                items = sorted(items)
        for key, value in items:
            if self.keys_written_alike and not self._plain_key(key):
                raise _KeyNotWrittenAlikeError(key)
            pairs.append((self.represent_data(key), self.represent_data(value)))
        node.flow_style = self._flow_style(item for pair in pairs for item in pair)
        return node

    def _sequence(self, sequence: list[Any]) -> yaml.Node:
        items: list[yaml.Node] = []
        node = yaml.SequenceNode(_SEQ, items)
        self.represented_objects[id(sequence)] = node
        items += [self.represent_data(item) for item in sequence]
        node.flow_style = self._flow_style(iter(items))
        return node

    def _plain_key(self, key: Any) -> bool:
        """``_plain_key``, asked once per key in a dump: the same keys recur in every object."""
        plain = self._plain_keys.get(key)
        if plain is None:
            plain = self._plain_keys[key] = _plain_key(key)
        return plain

    def _flow_style(self, nodes: Iterator[yaml.Node]) -> bool:
        """The dumper's default; without one, flow style for a collection of plain scalars."""
        if self.default_flow_style is not None:
            return self.default_flow_style
        return all(isinstance(node, yaml.ScalarNode) and not node.style for node in nodes)


@functools.cache
def _plain_data(dumper: Any, keys_written_alike: bool) -> Any:
    """``dumper`` representing plain data as ``_PlainDataRepresenter`` does."""
    attributes = {"keys_written_alike": keys_written_alike}
    return type(f"PlainData{dumper.__name__}", (_PlainDataRepresenter, dumper), attributes)
