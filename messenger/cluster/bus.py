"""Bus: one node's link to the other nodes, through a Redis stream.

Why a stream and not pub/sub: a pub/sub message reaches only the subscribers connected at that
moment, so a node cut from Redis for a second loses what was published in that second, silently.
A stream keeps the entries: a node reads from the id of the last entry it applied, and after a
cut it reads on from there, missing nothing and reading nothing twice.

Two threads per node, whatever the number of members:

- the publisher sends the node's entries in the order they were queued (a queue the registry
  appends to, never blocking on Redis), all those waiting in one round trip (a pipeline, which
  Redis runs in order): a burst costs one exchange, not one per entry, and lands in the stream
  together, so the readers take it in one read.  Entries that cannot be sent stay first in the
  queue until Redis is back.  A retried entry can reach the stream twice (the reply was lost, not
  the command): each carries ``n``, this process's counter, and readers drop what they saw
  already;
- the reader blocks in XREAD for at most a second, hands what it read to ``on_entries``, beats
  (the node's key with a TTL) and declares dead the nodes whose key expired.

An entry whose ``seq`` is not the one after the last seen means entries were lost to this node
(trimmed from the stream while it was away, or lost by Redis): a ``gap`` entry (of this node,
saying how many when that is known) comes before it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import keys

log = logging.getLogger("messenger.cluster")

DEAD_AFTER = 7.0  # a node silent this long is declared dead (its key's TTL)
BEATS = 3.5  # beats within DEAD_AFTER (every 2 s): two can be late before a node is dead
REAP_EVERY = 1.0  # how often a node looks for dead ones
BLOCK_MS = 1000  # the longest XREAD waits
READ_COUNT = 500  # entries per XREAD
SEND_COUNT = 500  # queued entries the publisher sends in one round trip
MAXLEN = 100_000  # the stream's bound (approximate: MAXLEN ~)
RETRY = 0.5  # seconds between attempts while Redis is unreachable

FAILURES = (redis.ConnectionError, redis.TimeoutError, OSError)


@dataclass(frozen=True)
class Entry:
    """One event of the stream."""

    id: str  # the stream's id
    seq: int  # its number: 1, 2, 3... in stream order
    node: str  # the node that published it (the dead one, for ``dead``)
    kind: str
    data: dict[str, Any]


@dataclass
class Snapshot:
    """What a node starting finds: the members of the others, and where the stream is."""

    members: list[dict[str, Any]]
    last_id: str
    seq: int
    bans: list[dict[str, Any]]
    mutes: list[dict[str, Any]]


def redacted(url: str) -> str:
    """``url`` without a password, for the log."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


class Bus:
    """Publishing and reading a node's entries; see the module's docstring."""

    def __init__(self, url: str, node: str, maxlen: int = MAXLEN, dead_after: float = DEAD_AFTER) -> None:
        self.url, self.node, self.maxlen, self.dead_after = url, node, maxlen, dead_after
        self.heartbeat = dead_after / BEATS
        # XREAD never waits longer than half a beat, so beats and reaping keep their pace.
        self._block_ms = int(min(BLOCK_MS, self.heartbeat * 500))
        self._boot = secrets.token_hex(4)  # tells this process's ``n`` from a restarted one's
        self._n = 0
        self._seen: dict[tuple[str, str], int] = {}  # (node, boot) -> the highest n applied
        self.last_id = "0-0"  # reader thread only
        self.last_seq = 0  # reader thread only
        self.up = True  # written under _state_lock; read anywhere (a bool)
        self._state_lock = threading.Lock()
        self._queue: deque[tuple[str, list[str], list[Any]]] = deque()
        self._ready = threading.Condition()
        self._sending = 0  # how many of the queue's first entries are being sent (under _ready)
        # How many of them a failed send left in doubt (they may be in the stream): never taken
        # to deliver here, sent again once Redis is back (readers drop a repeat).  Under _ready.
        self._doubtful = 0
        self._stopping = threading.Event()
        self._beat_at = self._reaped_at = 0.0
        self._known = False  # our name is in the set of nodes
        # Set by the owner before start(): called in the reader thread.
        # The entries of one read, in order (``gap``: entries were lost before the next one).
        self.on_entries: Callable[[list[Entry]], None] = lambda entries: None
        self.on_revived: Callable[[], None] = lambda: None  # declared dead, and back
        self.on_state: Callable[[bool], None] = lambda up: None
        self._reader = self._client(timeout=BLOCK_MS / 1000 + 5)
        self._writer = self._client(timeout=5)
        self._threads: list[threading.Thread] = []

    def _client(self, timeout: float) -> redis.Redis:
        """A client that fails at once rather than retrying on its own: the loops here retry,
        and a node must know it is cut off to keep its own users chatting."""
        return redis.Redis.from_url(
            self.url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )

    # -- starting and stopping ------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The others' members and the stream's position, read in one step (MULTI), so the
        entries read from there on are exactly those after it.  Raises redis errors."""
        self._writer.ping()
        pipe = self._writer.pipeline(transaction=True)
        pipe.hvals(keys.MEMBERS).xrevrange(keys.STREAM, count=1).get(keys.SEQ)
        pipe.hvals(keys.BANS).hvals(keys.MUTES)
        members, last, seq, bans, mutes = pipe.execute()
        self.last_id = last[0][0].decode() if last else "0-0"
        self.last_seq = int(seq or 0)
        found = [json.loads(raw) for raw in members]
        others = [m for m in found if m.get("node") != self.node]
        loaded = [[json.loads(raw) for raw in rows] for rows in (bans, mutes)]
        return Snapshot(others, self.last_id, self.last_seq, *loaded)

    @property
    def writer(self) -> redis.Redis:
        """The client for one-off commands (thread-safe: a pool), never the reader's."""
        return self._writer

    def raise_ids_to(self, last_id: int) -> None:
        """Message ids continue above ``last_id`` (the node's own history)."""
        self._writer.eval(keys.FLOOR, 2, keys.SEQ, keys.STREAM, last_id, self.maxlen, self.node)

    def start(self) -> None:
        self._beat()
        for name, target in (("cluster-reader", self._read_loop), ("cluster-publisher", self._publish_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, grace: float = 1.0) -> None:
        """Send what is queued (for up to ``grace`` seconds), then stop both threads."""
        deadline = time.monotonic() + grace
        while self._queue and self.up and time.monotonic() < deadline:
            time.sleep(0.01)  # the publisher empties the queue; nothing to wait on but it
        self._stopping.set()
        with self._ready:
            self._ready.notify_all()
        for thread in self._threads:
            thread.join(timeout=2 + BLOCK_MS / 1000)
        with contextlib.suppress(*FAILURES):
            self._leave()
        self.close()

    def _leave(self) -> None:
        """Declare this node gone itself (its heartbeat is not waited for: a key that never
        exists stands in for it), so the others see its members leave now; then stop beating."""
        names = [keys.NODES, keys.PREFIX + "never", keys.NAMES, keys.MEMBERS, keys.STREAM, keys.SEQ]
        self._writer.eval(keys.REAP, len(names), *names, self.node, self.maxlen)
        self._writer.delete(keys.heartbeat_key(self.node))

    def close(self) -> None:
        self._reader.close()
        self._writer.close()

    # -- the state of the link ----------------------------------------------------------------

    def _set_up(self, up: bool, why: object = None) -> None:
        """Note a change of the link, logged once each way."""
        with self._state_lock:
            if self.up == up:
                return
            self.up = up
        if up:
            log.info("Redis at %s is back; catching up from entry %s", redacted(self.url), self.last_id)
        else:
            log.warning(
                "lost Redis at %s (%s); local users keep chatting, the rest waits", redacted(self.url), why
            )
        self.on_state(up)
        if up:
            with self._ready:
                self._ready.notify_all()  # the publisher waits for this (_wait_until_up)

    # -- publishing -----------------------------------------------------------------------------

    def publish(
        self,
        kind: str,
        data: dict[str, Any],
        members: Iterable[tuple[str, str]] = (),
        hashed: tuple[str, str, str] | None = None,
        script: str = keys.PUBLISH,
    ) -> None:
        """Queue an entry (sent in the order queued); ``members``: (name key, JSON or "") to set
        or delete in the members hash in the same step; or ``hashed``: (hash, field, JSON or "");
        ``script``: keys.PUBLISH or one taking the same keys and arguments (idkeys.PUBLISH_AT)."""
        table = keys.MEMBERS if hashed is None else hashed[0]
        rows = list(members) if hashed is None else [hashed[1:]]
        with self._ready:
            self._n += 1
            argv: list[Any] = [self.maxlen, self.node, kind, json.dumps(data), f"{self._boot}:{self._n}"]
            for field, value in rows:
                argv += [field, value]
            self._queue.append((script, [keys.STREAM, keys.SEQ, table], argv))
            self._ready.notify()

    def take_unsent(
        self, kind: str, stamp: Callable[[dict[str, Any]], None], script: str
    ) -> list[dict[str, Any]]:
        """The queued entries of ``kind`` not marked ``local`` (but those being sent, or whose
        send failed: their fate is not known yet), now marked so, changed by ``stamp`` and to be
        sent with ``script``: the caller delivers them here itself."""
        taken = []
        with self._ready:
            for index, (sent_by, names, argv) in list(enumerate(self._queue)):
                doubtful = index < max(self._sending, self._doubtful)
                if sent_by != keys.PUBLISH or argv[2] != kind or doubtful:
                    continue
                data = json.loads(argv[3])
                if not data.get("local"):
                    data["local"] = True
                    stamp(data)
                    argv[3] = json.dumps(data)
                    self._queue[index] = (script, names, argv)
                    taken.append(data)
        return taken

    def release(self, key: str) -> None:
        """Free a name this node holds, in its place among the queued entries."""
        with self._ready:
            self._queue.append((keys.RELEASE, [keys.NAMES], [key, self.node]))
            self._ready.notify()

    def claim(self, key: str) -> int:
        """Take a name for this node unless another holds it: one Redis step, so of two nodes
        asking at once exactly one gets it.  1: taken now; 0: this node held it; -1: another
        does.  Raises redis errors if Redis is unreachable."""
        return int(self._writer.eval(keys.CLAIM, 1, keys.NAMES, key, self.node))  # (thread-safe: a pool)

    def _publish_loop(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping.is_set():
                    self._ready.wait()
                if not self._queue:
                    return
                batch = list(itertools.islice(self._queue, SEND_COUNT))
                self._sending = len(batch)
            try:
                self._send(batch)
            except FAILURES as exc:
                with self._ready:
                    self._sending, self._doubtful = 0, max(self._doubtful, len(batch))
                self._set_up(False, exc)
                if not self._wait_until_up():
                    return
                continue
            with self._ready:
                self._sending = self._doubtful = 0
                for _ in batch:
                    self._queue.popleft()

    def _send(self, batch: list[tuple[str, list[str], list[Any]]]) -> None:
        """The scripts of ``batch`` in one round trip, in order.  If the link fails midway, a
        first part may have run: all of it is sent again, and readers drop the repeats (``n``)."""
        if len(batch) == 1:
            script, names, argv = batch[0]
            self._writer.eval(script, len(names), *names, *argv)
            return
        pipe = self._writer.pipeline(transaction=False)
        for script, names, argv in batch:
            pipe.eval(script, len(names), *names, *argv)
        pipe.execute()

    def _wait_until_up(self) -> bool:
        """After a failed send, wait for the reader to find Redis back (False: stopping).  Not
        retrying meanwhile leaves the queue's first entry unsent, so ``take_unsent`` may deliver
        it here while Redis is gone instead of leaving it to an attempt whose fate is unknown."""
        with self._ready:
            while not self.up and not self._stopping.is_set():
                self._ready.wait(RETRY)
        return not self._stopping.is_set()

    # -- reading --------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                if not self.up:
                    self._reader.ping()
                    self._set_up(True)
                self._keep_time()
                reply = self._reader.xread(
                    {keys.STREAM: self.last_id}, count=READ_COUNT, block=self._block_ms
                )
            except FAILURES as exc:
                self._set_up(False, exc)
                self._stopping.wait(RETRY)
                continue
            batch: list[Entry] = []
            for _, entries in reply or ():
                for entry_id, fields in entries:
                    self._take(entry_id.decode(), fields, batch)
            if batch:
                try:
                    self.on_entries(batch)
                except Exception:  # entries a node cannot apply must not stop it reading on
                    log.exception("entries up to %s could not be applied", batch[-1].id)

    def _take(self, entry_id: str, fields: dict[bytes, bytes], batch: list[Entry]) -> None:
        """Add the entry to ``batch`` (after a ``gap`` entry if entries were lost before it)."""
        seq, kind = int(fields[b"seq"]), fields[b"kind"].decode()
        if seq != self.last_seq + 1 and kind != "floor":
            # A number skipped: entries trimmed before this node read them.  A number already
            # seen: Redis lost its data and counts again (how much was lost is unknown).
            missed = seq - self.last_seq - 1 if seq > self.last_seq else None
            lost = "some" if missed is None else missed
            log.warning("the cluster's stream has a gap before entry %s (%s lost)", entry_id, lost)
            batch.append(Entry(entry_id, seq, self.node, "gap", {"missed": missed}))
        self.last_id, self.last_seq = entry_id, seq
        node, n = fields[b"node"].decode(), fields[b"n"].decode()
        boot, _, count = n.partition(":")
        if count:
            if int(count) <= self._seen.get((node, boot), 0):
                return  # sent twice (a retry whose first reply was lost)
            self._seen[(node, boot)] = int(count)
        batch.append(Entry(entry_id, seq, node, kind, json.loads(fields[b"data"])))

    def _keep_time(self) -> None:
        """Beat every ``heartbeat`` seconds; look for dead nodes every REAP_EVERY seconds."""
        now = time.monotonic()
        if now - self._beat_at >= self.heartbeat:
            self._beat()
        if now - self._reaped_at >= min(REAP_EVERY, self.heartbeat):
            self._reaped_at = now
            for raw in self._reader.smembers(keys.NODES):
                node = raw.decode()
                if node != self.node and not self._reader.exists(keys.heartbeat_key(node)):
                    self._reap(node)

    def _beat(self) -> None:
        self._beat_at = time.monotonic()
        pipe = self._reader.pipeline(transaction=True)
        ttl = int(self.dead_after * 1000)
        pipe.set(keys.heartbeat_key(self.node), "1", px=ttl).sadd(keys.NODES, self.node)
        added = pipe.execute()[1]
        if added and self._known:
            log.warning("this node was declared dead while cut from Redis; announcing its members again")
            self.on_revived()
        self._known = True

    def _reap(self, node: str) -> None:
        names = [keys.NODES, keys.heartbeat_key(node), keys.NAMES, keys.MEMBERS, keys.STREAM, keys.SEQ]
        if self._reader.eval(keys.REAP, len(names), *names, node, self.maxlen):
            log.warning("node %s stopped beating: declared dead, its members have left", node)
