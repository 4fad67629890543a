"""Message ids in the cluster: the Redis keys and Lua scripts that keep them one sequence.

A chat message's id is the ``seq`` of its entry in the stream (keys.py), so ids increase in the
one order every node reads.  A node cut from Redis still delivers its own users' messages at
once; it cannot ask Redis for their ids, so it numbers them itself, above everything it has
seen by ``OUTAGE_JUMP`` times its *slot* (a small number of its own, kept in Redis by node name):
two nodes cut off at the same time number in ranges of their own, and the others' messages of
the gap (numbered by Redis meanwhile, below the jump) never share an id with them.  On return
they are published with PUBLISH_AT, which keeps the id (the counter jumps to it, with a
``floor`` entry, as keys.FLOOR does); a message whose id is not above what a node has already
delivered live is delivered there marked as history (messages.py).
"""

from __future__ import annotations

from .keys import PREFIX

# Above the most entries a stream holds (bus.MAXLEN, 100,000) ten times over: a gap recoverable
# from the stream never reaches a cut-off node's range.
OUTAGE_JUMP = 1_000_000
SLOTS = PREFIX + "slots"  # node name -> its slot (1, 2, 3...): never freed, a name keeps its slot

# KEYS: slots.  ARGV: node.  The node's slot: the one it had, or the smallest free.
SLOT = """
local slot = redis.call('HGET', KEYS[1], ARGV[1])
if slot then return tonumber(slot) end
local used = {}
for _, value in ipairs(redis.call('HVALS', KEYS[1])) do used[tonumber(value)] = true end
slot = 1
while used[slot] do slot = slot + 1 end
redis.call('HSET', KEYS[1], ARGV[1], slot)
return slot
"""

# As keys.PUBLISH (the same KEYS and ARGV), for a message numbered while its node was cut off
# (``id`` in its data): the counter first jumps to just below that id, with a ``floor`` entry, so
# the entry's seq is the id and later messages are numbered above it.  If the counter is past it
# already (another node's range came back first), the id is kept and the entry numbered as usual.
PUBLISH_AT = """
local id = tonumber(cjson.decode(ARGV[4]).id)
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
if seq < id - 1 then
    redis.call('SET', KEYS[2], id - 1)
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
        'seq', id - 1, 'node', ARGV[2], 'kind', 'floor', 'data', '{}', 'n', '0')
end
seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
    'seq', seq, 'node', ARGV[2], 'kind', ARGV[3], 'data', ARGV[4], 'n', ARGV[5])
return seq
"""
