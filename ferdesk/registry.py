"""A name -> plug-in registry that remembers why a plug-in cannot be used.

Every kind of plug-in (source, detector, engine) has one ``Registry``. Plug-in classes
declare ``availability()`` returning ``(ok, reason)``; an import error in an optional
dependency becomes that reason instead of a crash.
"""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, type[T]] = {}

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        def deco(cls: type[T]) -> type[T]:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            cls.name = name  # type: ignore[attr-defined]
            self._items[name] = cls
            return cls

        return deco

    def get(self, name: str) -> type[T]:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items))
            from ferdesk.errors import FerdeskError

            raise FerdeskError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def names(self) -> list[str]:
        return list(self._items)

    def __iter__(self) -> Iterator[tuple[str, type[T]]]:
        return iter(self._items.items())

    def __contains__(self, name: str) -> bool:
        return name in self._items
