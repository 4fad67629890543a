"""A cheaper ``__init__`` for the frozen dataclasses made once or more for every chat message.

A frozen dataclass's generated ``__init__`` sets each field through ``object.__setattr__``
(the class's own refuses), which costs about 0.2 µs a field in CPython 3.11: a message's line,
command, request, frame and the like were a tenth of the reader loop's work per message
(docs/performance.md).  ``quick_init`` gives such a class an ``__init__`` with the same
signature and defaults that fills the new instance's ``__dict__`` directly, which is what
``object.__setattr__`` ends up doing.  Everything else stays the dataclass's: frozen
assignment, ``==``, ``hash``, ``repr`` and ``dataclasses.replace`` (which calls this
``__init__``).

Only for a frozen dataclass with a ``__dict__`` (no slots), no ``__post_init__``, no default
factories and every field in ``__init__``: it refuses any other (at import, so never quietly).
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Give the frozen dataclass ``cls`` the faster ``__init__`` (a class decorator, applied
    above ``@dataclass``)."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    params = getattr(cls, "__dataclass_params__", None)
    if (
        params is None
        or not params.frozen
        or "__slots__" in cls.__dict__
        or hasattr(cls, "__post_init__")
        or any(not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING for f in fields)
        or any(f.name in ("self", "_fields") for f in fields)
    ):
        raise TypeError(f"quick_init does not fit {cls.__qualname__}")
    defaults: dict[str, object] = {}
    signature = []
    for f in fields:
        if f.default is dataclasses.MISSING:
            signature.append(f.name)
        else:
            defaults[f"_default_{f.name}"] = f.default
            signature.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"    _fields[{f.name!r}] = {f.name}\n" for f in fields)
    source = f"def __init__(self, {', '.join(signature)}):\n    _fields = self.__dict__\n{body}"
    namespace = dict(defaults)
    exec(source, namespace)  # as dataclasses makes its own __init__; names are the fields'
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init  # type: ignore[misc]
    return cls
