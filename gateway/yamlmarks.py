"""YAML with line numbers, so that a refused configuration names the line at fault.

``load(text)`` parses like ``yaml.safe_load`` but returns mappings as ``Marked``
dicts and sequences as ``MarkedList`` lists that remember the (1-based) line of
themselves and of each key or item. PyYAML keeps these marks on its node tree
only; keeping them here costs one small dict per mapping, which a routing
configuration of a few hundred lines does not notice.
"""

from __future__ import annotations

from typing import Any

import yaml


class Marked(dict):
    """A mapping from YAML: ``line`` of the mapping, ``line_of(key)`` of a key."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.line, self.key_lines = 0, {}

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class MarkedList(list):
    """A sequence from YAML: ``line`` of the sequence, ``line_of(i)`` of an item."""

    def __init__(self, *args):
        super().__init__(*args)
        self.line, self.item_lines = 0, []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    def construct_marked_mapping(self, node: yaml.MappingNode) -> Marked:
        self.flatten_mapping(node)
        result = Marked()
        result.line, result.key_lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in result:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found the key {key!r} twice", key_node.start_mark)
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    def construct_marked_sequence(self, node: yaml.SequenceNode) -> MarkedList:
        result = MarkedList(self.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                        _Loader.construct_marked_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
                        _Loader.construct_marked_sequence)


def load(text: str) -> Any:
    """The document in ``text``; raises ``yaml.YAMLError`` (with its mark) when it is not YAML.

    Unlike ``safe_load``, a key given twice in one mapping is an error: in a
    routing tree the second would silently win.
    """
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
