"""Loading a user-edited YAML file under ``config/`` into a pydantic model.

Validated on load (unknown fields refused by the model); every problem is one line naming the
file, the line and the field, e.g.
``config/intake.yaml:14: slots.repair.1: 'fone' is not a slot (place, phone, …)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

#: the checkout's root and its config/ folder, where the files users edit live
ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"


class ConfigError(Exception):
    """One line per problem: ``file:line: field: message``."""


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """1-based line of the YAML node at ``loc`` (the deepest one that exists)."""
    line = (node.start_mark.line + 1) if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(part):
                    node, line = v, k.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def load_yaml_model(path: Path, model: type[M], error: type[ConfigError] = ConfigError) -> M:
    """``model`` validated from the YAML file at ``path``; ``error`` lists every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror})") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise error(f"{path}:{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(f"{path}:1: expected a mapping of settings")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if p not in ("[key]",))
            field = ".".join(str(p) for p in loc) or "(top)"
            lines.append(f"{path}:{line_of(node, loc)}: {field}: {err['msg']}")
        raise error("\n".join(lines)) from None
