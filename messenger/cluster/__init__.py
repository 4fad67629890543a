"""Several ``messenger serve`` processes as one chat, joined through Redis (``serve --redis``).

Imported only when ``--redis`` is given: a server without it never imports redis.

- keys.py      the Redis keys and the Lua scripts that change several of them in one step
- bus.py       Bus: one node's link to Redis: a publisher thread (entries queued in order, sent
               when Redis is reachable), one reader thread (XREAD BLOCK from the last id read,
               heartbeats, declaring silent nodes dead, gap detection)
- registry.py  ClusterRegistry: the core's Registry with the members of other nodes mirrored
               in it, its local operations published, the others' applied
- messages.py  ClusterMessages: chat messages through the stream, stored by every node under
               their cluster id, numbered by the node while cut off; the ping barrier
- idkeys.py    the keys and Lua script that keep a cut-off node's message ids
- backfill.py  backfill(): a node starting stores the stream's messages its history lacks
- outlet.py    ClusterOutlet: the transport's Outlet without the members of other nodes
- node.py      attach(): a ChatServer turned into a node of the cluster
"""
