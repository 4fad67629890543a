"""quick_init (protocol/quick.py): the faster __init__ of the frozen dataclasses made for every
message must behave exactly as the dataclass's own: same parameters and defaults, same fields
set, still frozen, equal and hashed alike, and ``replace`` still works."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field

import pytest

from messenger.protocol.connection import Request
from messenger.protocol.frames import Me, Message, Say
from messenger.protocol.lines import Line
from messenger.protocol.quick import quick_init
from messenger.protocol.slash import TextCommand

pytestmark = pytest.mark.timeout(30)

QUICK = [Message, Say, Me, Line, TextCommand, Request]


def reference(cls: type) -> type:
    """The same fields in a plain frozen dataclass: the __init__ dataclasses would make."""
    spec = [(f.name, f.type, field(default=f.default)) for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass("Reference" + cls.__name__, spec, frozen=True)


def sample(cls: type) -> dict[str, object]:
    return {f.name: f"value of {f.name}" for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("cls", QUICK, ids=lambda cls: cls.__name__)
def test_the_same_parameters_and_defaults_as_the_dataclass_own(cls: type) -> None:
    ours = inspect.signature(cls.__init__).parameters
    theirs = inspect.signature(reference(cls).__init__).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]
    assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"


@pytest.mark.parametrize("cls", QUICK, ids=lambda cls: cls.__name__)
def test_fields_set_frozen_equal_hashed_and_replaceable(cls: type) -> None:
    values = sample(cls)
    by_keyword = cls(**values)
    by_position = cls(*values.values())
    assert dataclasses.asdict(by_keyword) == values
    assert by_keyword == by_position and hash(by_keyword) == hash(by_position)
    assert by_keyword != cls(**{**values, next(iter(values)): "another"})
    first = next(iter(values))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(by_keyword, first, "changed")
    changed = dataclasses.replace(by_keyword, **{first: "changed"})
    assert getattr(changed, first) == "changed" and getattr(by_keyword, first) == values[first]
    with pytest.raises(TypeError):
        cls(**values, unknown=1)


def test_the_defaults_are_the_fields_defaults() -> None:
    message = Message(1, "alice", "hi", "2026-12-01T00:00:00.000Z")
    assert (message.to, message.action, message.history, message.room) == (None, False, False, None)
    assert Say("hi") == Say(text="hi", to=None, room=None)
    with pytest.raises(TypeError):
        Message(1, "alice")  # type: ignore[call-arg]


def test_it_refuses_a_class_it_does_not_fit() -> None:
    class Plain:
        pass

    @dataclass
    class Mutable:
        a: int

    @dataclass(frozen=True, slots=True)
    class Slotted:
        a: int

    @dataclass(frozen=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    for cls in (Plain, Mutable, Slotted, Checked, Factory):
        with pytest.raises(TypeError):
            quick_init(cls)
