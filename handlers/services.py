"""What handlers may use, found by type — like the values filters hand over.

``main.py`` registers one instance per type (the WeCom client, the settings, the analyzer, each
feature's configuration …). A handler (or a ``prepare`` step) asks for one by annotating a
parameter with its type::

    @router.event("ticket_created", channel=INTERNAL)
    async def on_ticket_created(ctx: Context, offering: OfferingConfig) -> None: ...

or, inside a helper, with ``ctx.services[OfferingConfig]``. A type nobody registered is an error
that names it: no feature is switched off by a missing service.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


class MissingService(LookupError):
    def __init__(self, kind: type) -> None:
        super().__init__(f"no service of type {kind.__module__}.{kind.__qualname__} is "
                         "registered (main.py BotRuntime.start registers them)")


class Services:
    def __init__(self, *instances: Any) -> None:
        self._by_type: dict[type, Any] = {}
        for instance in instances:
            self.add(instance)

    def add(self, instance: Any, as_type: type | None = None) -> None:
        """Register ``instance`` under its own type (or ``as_type``); replaces an earlier one."""
        self._by_type[as_type or type(instance)] = instance

    def __getitem__(self, kind: type[T]) -> T:
        try:
            return self._by_type[kind]
        except KeyError:
            for registered, instance in self._by_type.items():  # a subclass serves its base
                if isinstance(registered, type) and issubclass(registered, kind):
                    return instance
            raise MissingService(kind) from None

    def __contains__(self, kind: type) -> bool:
        try:
            self[kind]
        except MissingService:
            return False
        return True
