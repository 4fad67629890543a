"""The registry's presence operations: away, whois, ignore, and whom a reply goes to.

PresenceSteps is a mixin of Registry and keeps its rule: every operation runs under the
registry's lock (``_operation``) and commits its events at once.  Ignores are kept in
``_ignored_by`` (a name key -> the members ignoring it), so a message costs one dictionary lookup
to find whom not to deliver it to, and nothing when nobody ignores its sender.
"""

from __future__ import annotations

import threading
import time

from ..protocol.frames import ErrorCode, FrameError
from ..protocol.moderation import AwayStatus, IgnoredList, Whois
from ..protocol.names import name_key
from .events import Batch
from .members import Member

# How many names one member may ignore: the list is kept and checked for every message.
MAX_IGNORED = 100


class PresenceSteps:
    """Registry's presence methods; the fields and helpers they use are Registry's."""

    _lock: threading.Lock
    _members: dict[str, Member]
    _ignored_by: dict[str, set[Member]]

    def set_away(self, member: Member, text: str | None) -> None:
        """Away with ``text``, or back (None): confirmed to the member, and told to those who
        asked to follow presence (hello ``presence``)."""
        with self._operation(member) as out:
            if not self._is_member_locked(member):
                return
            member.away = text
            assert member.name is not None
            # To itself, and to everyone who asked to follow presence (rare: scanned here).
            watchers = [m for m in self._members.values() if m.wants_presence and m is not member]
            out.send(AwayStatus(user=member.name, text=text), [member, *watchers])

    def whois(self, member: Member, name: str, with_address: bool) -> None:
        """Answer ``whois`` about someone online (``address`` only ``with_address``, for
        operators).  Answers (and raises Answered) ``unknown_user``."""
        with self._operation(member) as out:
            target = self._members.get(name_key(name))
            if target is None or target.name is None:
                raise FrameError(ErrorCode.UNKNOWN_USER, f"no user named '{name}' is online", "whois")
            answer = Whois(
                user=target.name,
                registered=target.account is not None,
                role=target.role,
                rooms=tuple(target.rooms),
                idle=int(time.monotonic() - target.active_at),
                since=target.since,
                away=target.away,
                address=target.address.rpartition(":")[0] if with_address else None,
                account=target.account,
            )
            out.send(answer, (member,))

    def ignore(self, member: Member, name: str, on: bool) -> None:
        """Start (``on``) or stop ignoring ``name``; answered with the list of ignored names."""
        key = name_key(name)
        with self._operation(member) as out:
            if not self._is_member_locked(member):
                return
            if on and key == member.key:
                raise FrameError(ErrorCode.NOT_PERMITTED, "you cannot ignore yourself", "ignore")
            if on and key not in member.ignoring and len(member.ignoring) >= MAX_IGNORED:
                why = f"you ignore {MAX_IGNORED} names already; unignore one first"
                raise FrameError(ErrorCode.NOT_PERMITTED, why, "ignore")
            if on:
                member.ignoring.add(key)
                self._ignored_by.setdefault(key, set()).add(member)
            else:
                member.ignoring.discard(key)
                self._forget_ignorer_locked(member, key)
            self._send_ignored_locked(out, member)

    def ignored(self, member: Member) -> None:
        with self._operation(member) as out:
            self._send_ignored_locked(out, member)

    def _send_ignored_locked(self, out: Batch, member: Member) -> None:
        """The names ``member`` ignores, as they are online now, or as keys when not online."""
        names = []
        for key in member.ignoring:
            online = self._members.get(key)
            names.append(online.name if online is not None and online.name is not None else key)
        out.send(IgnoredList(users=tuple(sorted(names, key=name_key))), (member,))

    def _restore_ignores_locked(self, member: Member, keys: set[str]) -> None:
        """A member logging in takes up the ignores its account keeps."""
        member.ignoring = set(keys)
        for key in keys:
            self._ignored_by.setdefault(key, set()).add(member)

    def _forget_ignorer_locked(self, member: Member, key: str) -> None:
        ignorers = self._ignored_by.get(key)
        if ignorers is not None:
            ignorers.discard(member)
            if not ignorers:
                del self._ignored_by[key]

    def _drop_ignores_locked(self, member: Member) -> None:
        """A member leaving: it ignores nobody any more (its account keeps the list)."""
        for key in member.ignoring:
            self._forget_ignorer_locked(member, key)

    def _follow_rename_locked(self, old_key: str, new_key: str) -> None:
        """Whoever ignores a name that is renamed ignores the new name too: an ignore follows
        the person, not only the name (an unregistered troll cannot shake it off by /nick)."""
        ignorers = self._ignored_by.get(old_key)
        if not ignorers or old_key == new_key:
            return
        for member in ignorers:
            if len(member.ignoring) < MAX_IGNORED:
                member.ignoring.add(new_key)
                self._ignored_by.setdefault(new_key, set()).add(member)

    def _ignorers_locked(self, sender: Member) -> set[Member] | None:
        """Who does not get ``sender``'s messages: those ignoring its name or its account."""
        if not self._ignored_by:
            return None
        found = self._ignored_by.get(sender.key)
        if sender.account is not None:
            by_account = self._ignored_by.get(name_key(sender.account))
            if by_account:
                found = by_account | found if found else by_account
        return found or None

    def reply_target(self, member: Member) -> str:
        """The name ``member``'s reply goes to; raises FrameError ``no_reply``."""
        target = member.reply_to
        if target is None:
            raise FrameError(ErrorCode.NO_REPLY, "nobody has sent you a private message yet", "reply")
        return target
