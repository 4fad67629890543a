"""RoomSharing: rooms' settings (modes, allowed names, topic) the same on every node.

A change is made here at once (the operator's node answers and tells the room as on one server)
and sent as a *change* (SETTINGS): Redis merges it into the room's record in ``messenger:rooms``
and adds the whole record after the merge to the stream, in one step.  Every node, this one
included, then sets the room's settings to the record it reads, in the stream's order: two
operators changing one room at once on two nodes end with the same settings everywhere (the
later entry's), which sending each node's own view of the whole room would not give.

Topics also have their entry (``topic``, registry.py), which tells the room; the record's topic
serves the nodes starting later (for rooms that have members then).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from ..core.members import Member
from ..core.roomsettings import RoomSettings
from ..protocol.frames import LOBBY
from ..protocol.moderation import RoomMode
from ..protocol.names import name_key
from . import keys
from .bus import Bus

ROOMS = keys.PREFIX + "rooms"  # room -> JSON of its settings: what a node starting takes

# KEYS: rooms, stream, seq.  ARGV: maxlen, node, room, the change (JSON: fields to set, or
# ``allow`` / ``disallow``: a name key), who changed the modes ('' nobody).
SETTINGS = """
local raw = redis.call('HGET', KEYS[1], ARGV[3])
local room = raw and cjson.decode(raw) or {topic = '', invite_only = false, moderated = false}
local kept = {}
for field, value in pairs(cjson.decode(ARGV[4])) do
    if field == 'allow' or field == 'disallow' then
        for _, name in ipairs(room.allowed or {}) do
            if name ~= value then table.insert(kept, name) end
        end
        if field == 'allow' then table.insert(kept, value) end
        room.allowed = kept
    else
        room[field] = value
    end
end
if room.allowed == nil or next(room.allowed) == nil then room.allowed = nil end
local record = cjson.encode(room)
redis.call('HSET', KEYS[1], ARGV[3], record)
local data = cjson.encode({room = ARGV[3], by = ARGV[5], record = room})
local seq = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*',
    'seq', seq, 'node', ARGV[2], 'kind', 'settings', 'data', data, 'n', '0')
return seq
"""


class RoomSharing:
    """ClusterRegistry's shared room settings (see the module)."""

    bus: Bus
    _lock: threading.Lock
    _settings: dict[str, RoomSettings]
    _rooms: dict[str, dict[Member, None]]

    def load_settings(self, rows: dict[bytes, bytes]) -> None:
        """The rooms' records as the node starts (after the others' members)."""
        with self._lock:
            for room, raw in rows.items():
                self._set_settings_locked(room.decode(), json.loads(raw), topic=True)

    def set_mode(self: Any, member: Member, raw: str | None, invite_only: bool | None,
                 moderated: bool | None) -> str:  # fmt: skip
        room = super().set_mode(member, raw, invite_only, moderated)
        if member.link is not None and (invite_only is not None or moderated is not None):
            change = {"invite_only": invite_only, "moderated": moderated}
            self._share(room, {k: v for k, v in change.items() if v is not None}, member.name)
        return room

    def allow(self: Any, member: Member, raw: str | None, name: str, on: bool) -> str:
        room = super().allow(member, raw, name, on)
        if member.link is not None:
            self._share(room, {"allow" if on else "disallow": name_key(name)})
        return room

    def topic(self: Any, member: Member, raw: str | None, text: str | None) -> None:
        super().topic(member, raw, text)
        if text is not None and member.link is not None:
            room = LOBBY if raw is None else self._room_name(raw, "topic")
            with self._lock:
                settings = self._settings.get(room) or RoomSettings()
                change = {
                    "topic": settings.topic,
                    "topic_by": settings.topic_by,
                    "topic_ts": settings.topic_ts,
                }
            self._share(room, change)

    def _share(self, room: str, change: dict[str, Any], by: str | None = None) -> None:
        argv = [self.bus.maxlen, self.bus.node, room, json.dumps(change), by or ""]
        self.bus.queue(SETTINGS, [ROOMS, keys.STREAM, keys.SEQ], argv)

    def apply_settings(self: Any, data: dict[str, Any], mine: bool) -> None:
        """A ``settings`` entry (this node's too): the room's settings become the record; a
        change of modes made elsewhere is told to the room's members here."""
        with self._operation() as out:
            self._set_settings_locked(data["room"], data["record"], out=None if mine else out, by=data["by"])

    def _set_settings_locked(
        self, room: str, record: dict[str, Any], out: Any = None, by: str = "", topic: bool = False
    ) -> None:
        settings = self._settings.setdefault(room, RoomSettings())
        modes = (settings.invite_only, settings.moderated)
        settings.invite_only, settings.moderated = bool(record["invite_only"]), bool(record["moderated"])
        settings.allowed = set(record.get("allowed") or ())
        if topic:  # at start only: the topic entries keep it afterwards
            settings.topic = record.get("topic") or ""
            settings.topic_by, settings.topic_ts = record.get("topic_by"), record.get("topic_ts")
        if out is not None and by and modes != (settings.invite_only, settings.moderated):
            frame = RoomMode(room, settings.invite_only, settings.moderated, by)
            out.send(frame, list(self._rooms.get(room, {})))
        if room not in self._rooms and not settings.kept:
            del self._settings[room]  # as the room's last member leaving would have done
