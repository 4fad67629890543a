"""The chat itself: members, rooms, presence, who may hold which name, history, accounts.

``registry`` (who is logged in, every delivery under one lock), ``store`` (history in SQLite),
``accounts`` (registered names and password hashes), ``rekey`` (re-computing stored name keys).
The core imports only ``messenger.protocol`` — with one exception still to cut: ``registry``
appends encoded frames to the server's ``ChatLog`` (see docs/architecture.md).
"""
