"""The one YAML validator: reading the files users edit (``config/`` and the files commands are
given) with the line of every field, and the one error format, ``file:line: field: message``.

* ``read_yaml(text, source)`` gives a ``YamlDocument``: the plain values (``.data``, keys as
  text), ``.line(path)`` — the 1-based line of the field at ``path`` (a tuple of keys and list
  indices, or the text ``a.b[2].c``; the deepest one that exists) — and ``.issues``, what the
  YAML itself got wrong (a key given twice, a value no constructor reads). Text that is not
  YAML raises ``YamlSyntaxError``.
* ``Problem(source, line, field, message)`` prints as ``file:line: field: message``; every
  error of every configuration file is made of these, e.g.
  ``config/intake.yaml:14: slots.repair.1: 'fone' is not a slot (place, phone, …)``.

Who uses it: the pydantic-model files (``intake.yaml``, ``offering.yaml``, ``settlement.yaml``)
through ``load_yaml_model``; price books (``handlers/settlement/loader.py`` reads them,
``engine/book_parser.py`` validates the document); scoring weights (``handlers/dispatch/config.py``
reads, ``engine/config.py`` validates); staff files (``handlers/staff/records.py``). The pure
engines are handed the ``YamlDocument`` and never import this module (duck typing: ``.data``,
``.line()``, ``.issues``, ``.problem()``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
#: a field's place in a document: ``("services", 2, "id")`` or ``"services[2].id"``
FieldPath = str | tuple[Any, ...]

#: the checkout's root and its config/ folder, where the files users edit live
ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"

_MAP_TAG, _SEQ_TAG = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_FLOAT_TAG, _MERGE_TAG = "tag:yaml.org,2002:float", "tag:yaml.org,2002:merge"
_INDEX = re.compile(r"\[(\d+)\]")


class ConfigError(Exception):
    """One line per problem: ``file:line: field: message``."""


class Problem(NamedTuple):
    """One problem of one file; ``str()`` is ``file:line: field: message`` (``line`` and
    ``field`` are left out when there is none)."""

    source: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class YamlSyntaxError(ConfigError):
    """The text is not YAML: where (``line``, 1 if the parser does not say) and ``problem``."""

    def __init__(self, source: str, exc: Exception) -> None:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        self.source, self.line = source, (mark.line + 1 if mark is not None else 1)
        self.problem = str(getattr(exc, "problem", None) or exc)
        super().__init__(str(Problem(source, self.line, None, f"not valid YAML ({self.problem})")))


class Issue(NamedTuple):
    """What the YAML itself got wrong at ``path``: ``kind`` is ``"duplicate"`` (a key given
    twice in one mapping; the last one counts) or ``"unreadable"`` (a value no constructor
    reads, such as 2026-02-30; it reads as None). ``written`` is the value as written,
    ``reason`` the short cause and ``error`` the constructor's own exception."""

    path: tuple[Any, ...]
    line: int
    kind: str
    written: str
    reason: str
    error: Exception | None = None


def field_name(path: FieldPath) -> str:
    """``("a", "b", 2, "c")`` → ``"a.b[2].c"`` (text paths are returned as they are)."""
    if isinstance(path, str):
        return path
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


class YamlDocument:
    """A YAML text read with positions (see the module docstring)."""

    def __init__(self, source: str, text: str) -> None:
        self.source, self.text = source, text
        self.data: Any = None
        self.empty = True  # no document at all (an empty file, or only comments)
        self.issues: list[Issue] = []
        self._lines: dict[tuple[Any, ...], int] = {}
        self._written: dict[tuple[Any, ...], str] = {}

    def line(self, path: FieldPath = ()) -> int:
        """1-based line of the field at ``path`` — for a key, the key's line; for a list item,
        where it starts — or of the deepest part of ``path`` that exists (1 if none)."""
        return self._lines.get(self._find(path), 1)

    def _find(self, path: FieldPath) -> tuple[Any, ...]:
        """The longest prefix of ``path`` that is a field of the document. In a text path a key
        may itself contain dots (``services[0].a.b`` for the key ``a.b``): the longest key
        that exists wins."""
        found: tuple[Any, ...] = ()
        if isinstance(path, tuple):
            for part in path:
                for candidate in (part, str(part)) if isinstance(part, int) else (part,):
                    if found + (candidate,) in self._lines:
                        found += (candidate,)
                        break
                else:
                    break
            return found
        rest = path
        while rest:
            index = _INDEX.match(rest)
            if index:
                if found + (int(index[1]),) not in self._lines:
                    break
                found, rest = found + (int(index[1]),), rest[index.end():]
                continue
            rest = rest[1:] if found and rest.startswith(".") else rest
            cuts = [i for i, ch in enumerate(rest) if ch in ".["] + [len(rest)]
            cut = next((c for c in reversed(cuts) if found + (rest[:c],) in self._lines), None)
            if cut is None:
                break
            found, rest = found + (rest[:cut],), rest[cut:]
        return found

    def written(self, path: tuple[Any, ...]) -> str | None:
        """The scalar at ``path`` as written (``0701``, ``yes``), None if it is not a scalar."""
        return self._written.get(path)

    def problem(self, path: FieldPath, message: str, *, field: str | None = None,
                line: int | None = None) -> Problem:
        """A ``Problem`` at the line of ``path``; ``field`` defaults to ``path`` as text."""
        return Problem(self.source, self.line(path) if line is None else line,
                       field_name(path) if field is None else field, message)


def read_yaml(text: str, source: str, *, decimals: bool = False) -> YamlDocument:
    """``text`` as a ``YamlDocument`` (``source`` names it in problems); ``decimals`` reads
    floats as ``Decimal`` (as written: 0.1 stays 0.1). ``YamlSyntaxError`` if it is not YAML."""
    doc = YamlDocument(source, text)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is not None:
            doc.empty = False
            doc.data = _Builder(doc, decimals).value(root, (), root.start_mark.line + 1)
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(source, exc) from None
    return doc


class _Builder:
    """Walks the composed nodes once: plain values, the line of every field, the issues."""

    def __init__(self, doc: YamlDocument, decimals: bool) -> None:
        self.doc, self.decimals = doc, decimals
        self.constructor = yaml.constructor.SafeConstructor()
        self.own: dict[int, int] = {}  # id(mapping node) -> how many of its pairs are its own
        self.active: set[int] = set()  # collections being walked (a recursive alias loops)

    def value(self, node: yaml.Node, path: tuple[Any, ...], line: int) -> Any:
        self.doc._lines[path] = line
        if isinstance(node, yaml.ScalarNode):
            self.doc._written[path] = node.value
            return self.scalar(node, path)
        if node.tag not in (_MAP_TAG, _SEQ_TAG):  # !!set, !!omap …: no positions inside
            value = self.construct(node, path)
            return None if value is _UNREADABLE else value
        if id(node) in self.active:
            self.unreadable(node, path, "a recursive alias")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.value(item, path + (i,), item.start_mark.line + 1)
                        for i, item in enumerate(node.value)]
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: yaml.MappingNode, path: tuple[Any, ...]) -> dict[str, Any]:
        if id(node) not in self.own:
            self.own[id(node)] = sum(k.tag != _MERGE_TAG for k, _ in node.value)
            self.constructor.flatten_mapping(node)  # "<<: *defaults" first, own keys after
        merged = len(node.value) - self.own[id(node)]
        out: dict[str, Any] = {}
        own: set[str] = set()
        for n, (knode, vnode) in enumerate(node.value):
            key = self.construct(knode, path)
            if key is _UNREADABLE:
                continue
            key, sub, line = str(key), path + (str(key),), knode.start_mark.line + 1
            if n >= merged:
                if key in own:
                    self.doc.issues.append(Issue(sub, line, "duplicate", str(knode.value),
                                                 "duplicate key"))
                own.add(key)
            out[key] = self.value(vnode, sub, line)
        return out

    def scalar(self, node: yaml.ScalarNode, path: tuple[Any, ...]) -> Any:
        if self.decimals and node.tag == _FLOAT_TAG:
            try:
                return Decimal(node.value.replace("_", ""))
            except ArithmeticError:
                pass  # .inf, .nan, 1:30.5 (base 60)
        value = self.construct(node, path)
        return None if value is _UNREADABLE else value

    def construct(self, node: yaml.Node, path: tuple[Any, ...]) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            self.constructor = yaml.constructor.SafeConstructor()  # forget the half-built node
            self.unreadable(node, path, str(getattr(exc, "problem", None) or exc), exc)
            return _UNREADABLE

    def unreadable(self, node: yaml.Node, path: tuple[Any, ...], reason: str,
                   exc: Exception | None = None) -> None:
        written = node.value if isinstance(node, yaml.ScalarNode) else repr(node.value)
        self.doc.issues.append(Issue(path, node.start_mark.line + 1, "unreadable", written,
                                     reason, exc))


_UNREADABLE = object()


def read_yaml_file(path: Path, error: type[ConfigError] = ConfigError) -> YamlDocument:
    """The YAML file at ``path`` as a ``YamlDocument``; ``error`` if it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(str(Problem(str(path), None, None, f"cannot read ({exc.strerror})"))) from None
    try:
        return read_yaml(text, str(path))
    except YamlSyntaxError as exc:
        raise error(str(exc)) from None


def validate_model(doc: YamlDocument, model: type[M], error: type[ConfigError] = ConfigError) -> M:
    """``model`` validated from ``doc``; ``error`` lists every problem, one per line."""
    for issue in doc.issues:
        if issue.kind == "unreadable":
            raise error(str(Problem(doc.source, issue.line, None,
                                    f"not valid YAML ({issue.reason})")))
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        raise error(str(Problem(doc.source, 1, None, "expected a mapping of settings")))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if p not in ("[key]",))
            field = ".".join(str(p) for p in loc) or "(top)"
            lines.append(str(doc.problem(loc, err["msg"], field=field)))
        raise error("\n".join(lines)) from None


def load_yaml_model(path: Path, model: type[M], error: type[ConfigError] = ConfigError) -> M:
    """``model`` validated from the YAML file at ``path``; ``error`` lists every problem."""
    return validate_model(read_yaml_file(path, error), model, error)
