"""The cluster's Redis keys and the Lua scripts that change several of them in one step.

Every entry of the stream is added by PUBLISH, which first increments ``seq``: the entries'
``seq`` fields are then 1, 2, 3... in stream order, so a reader that finds a number missing
knows that entries were trimmed (or Redis lost data) and says so instead of leaving a silent
hole.  A chat message's id is its entry's ``seq``: ids increase in the one order of the stream.
"""

from __future__ import annotations

PREFIX = "messenger:"
STREAM = PREFIX + "stream"  # the events of every node, in one order
SEQ = PREFIX + "seq"  # the last entry's number (and the last message id)
NAMES = PREFIX + "names"  # name key -> the node that granted it
MEMBERS = PREFIX + "members"  # name key -> JSON {node, name, rooms, account}: for a new node
NODES = PREFIX + "nodes"  # the set of nodes alive (or not yet declared dead)
BANS = PREFIX + "bans"  # "kind key" -> JSON of a ban: for a node starting
MUTES = PREFIX + "mutes"  # name key -> JSON of a mute: for a node starting


def heartbeat_key(node: str) -> str:
    """Present while ``node`` beats (a TTL, refreshed 3.5 times within it)."""
    return PREFIX + "node:" + node


# KEYS: stream, seq, a hash (members or bans).  ARGV: maxlen, node, kind, data, n, then pairs
# (field, JSON or "" to delete) of that hash.  Returns the entry's seq.
PUBLISH = """
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
    'seq', seq, 'node', ARGV[2], 'kind', ARGV[3], 'data', ARGV[4], 'n', ARGV[5])
for i = 6, #ARGV, 2 do
    if ARGV[i + 1] == '' then
        redis.call('HDEL', KEYS[3], ARGV[i])
    else
        redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
    end
end
return seq
"""

# KEYS: names.  ARGV: key, node.  Returns 1 if the name was free and is now the node's, 0 if
# the node held it already, -1 if another node holds it.
CLAIM = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then return 1 end
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 0 end
return -1
"""

# KEYS: names.  ARGV: key, node.  Frees the name if ``node`` holds it.
RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""

# KEYS: nodes, the dead node's heartbeat key, names, members, stream, seq.  ARGV: node, maxlen.
# Declares ``node`` dead once, if its heartbeat is still gone: frees its names, forgets its
# members and adds a ``dead`` entry every node applies.  Returns 1 if it did.
REAP = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local names = redis.call('HGETALL', KEYS[3])
for i = 1, #names, 2 do
    if names[i + 1] == ARGV[1] then redis.call('HDEL', KEYS[3], names[i]) end
end
local members = redis.call('HGETALL', KEYS[4])
for i = 1, #members, 2 do
    if cjson.decode(members[i + 1]).node == ARGV[1] then redis.call('HDEL', KEYS[4], members[i]) end
end
local seq = redis.call('INCR', KEYS[6])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[2], '*',
    'seq', seq, 'node', ARGV[1], 'kind', 'dead', 'data', '{}', 'n', '0')
return 1
"""

# KEYS: seq, stream.  ARGV: the highest message id a node's history holds, maxlen, node.  Ids
# never go back: ``seq`` jumps there, with a ``floor`` entry so that readers see no gap in it.
FLOOR = """
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
if seq >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',
    'seq', ARGV[1], 'node', ARGV[3], 'kind', 'floor', 'data', '{}', 'n', '0')
return 1
"""
