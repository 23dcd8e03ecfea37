"""A fast positional constructor for the engine's frozen slots dataclasses.

A frozen dataclass's ``__init__`` stores every field with ``object.__setattr__`` (its own
``__setattr__`` refuses), about 0.3 µs a field: 5–7 µs for a ticket or a statement, paid for
every ticket of a month run.  :func:`maker` returns a function taking every field in order
that fills a plain (unfrozen) twin with the same slots and then gives the object the frozen
class (``__class__`` assignment between classes of the same slot layout).  The result is an
ordinary instance of the frozen class: equal, hashable, immutable and picklable like one made
by ``cls(...)``; no defaults, no ``__post_init__`` (the classes using it have none).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def maker(cls: type[T]) -> Callable[..., T]:
    """``make(*every_field_in_order) -> cls`` without the per-field ``object.__setattr__``."""
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    if not params.frozen or tuple(cls.__slots__) != tuple(names) or hasattr(cls, "__post_init__"):  # type: ignore[attr-defined]
        raise TypeError(f"maker() needs a frozen slots dataclass without __post_init__, not {cls.__name__}")
    body = "".join(f"    self.{n} = {n}\n" for n in names)
    ns: dict[str, Any] = {}
    exec(f"def __init__(self, {', '.join(names)}):\n{body}", ns)  # noqa: S102 (field names only)
    twin = type(f"_Mutable{cls.__name__}", (), {"__slots__": tuple(names), "__init__": ns["__init__"]})

    def make(*values: Any) -> T:
        obj = twin(*values)
        obj.__class__ = cls  # same slot layout: the object is now a frozen cls
        return obj  # type: ignore[return-value]

    make.__doc__ = f"A {cls.__name__} from every field in order (see engine/frozen.py)."
    return make
