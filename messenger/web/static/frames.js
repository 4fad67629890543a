/**
 * What each server frame does to the page (docs/protocol.md, JSON mode). One function per
 * frame type in HANDLERS; unknown types are ignored, as the protocol asks of clients. The
 * wording of notices follows the terminal client's (protocol/wording.py), so both read alike.
 */

import { nameKey } from "./names.js";
import { LOBBY, historyOf, privateId } from "./state.js";

const LEFT_REASONS = { too_slow: "too slow", replaced: "replaced by a new login" };

/** Handle one frame from the server. */
export function handleFrame(app, frame) {
  const handler = HANDLERS[frame.type];
  if (handler) handler(app, frame);
}

/** Where a room-less frame belongs: the lobby. */
function roomOf(frame) {
  return frame.room || LOBBY;
}

/** The history request a replayed message answers, if it is the oldest one pending for its room. */
function pendingFor(app, frame) {
  const head = app.pendingHistory[0];
  return frame.history && head && head.room === historyOf(frame) ? head : null;
}

function message(app, frame) {
  if (typeof frame.id !== "number" || typeof frame.from !== "string" || typeof frame.text !== "string") return;
  const state = app.state;
  const request = pendingFor(app, frame);
  if (request && request.kind === "resume") {
    request.oldest = Math.min(request.oldest ?? Infinity, frame.id); // where the next page starts
    if (frame.id <= request.floor) {
      request.reached = true; // this page goes back to what was seen before the drop
      return; // shown before the drop
    }
  }
  const newest = state.see(frame);
  const fresh = newest && (!frame.history || (request !== null && request.kind === "resume"));
  const conv = state.conversationOf(frame);
  const isNewConv = conv.entries.length === 0;
  const added = conv.addMessage(frame);
  if (added === null) return;
  const own = state.isMe(frame.from);
  if (conv.kind === "private") {
    conv.setMember(state.me);
    conv.setMember(own ? frame.to : frame.from);
  }
  if (fresh && !own) countUnread(app, conv, frame, added.entry);
  if (conv.id === state.current) {
    app.view.place(added.entry, added.index, fresh);
    if (fresh && own) app.view.toBottom();
    if (conv.firstUnread === added.entry) app.view.placeUnreadLine();
  }
  if (isNewConv || (fresh && !own)) app.renderSidebar();
}

/** A new message from someone else: unread unless it is in view, notified when it is for us. */
function countUnread(app, conv, frame, entry) {
  const mention = app.isMention(frame);
  const seen = conv.id === app.state.current && !document.hidden && app.view.atBottom();
  if (!seen) {
    conv.unread += 1;
    conv.mention ||= mention;
    conv.firstUnread ||= entry;
  }
  if (mention) app.notifier.message(frame, conv.label, () => app.switchTo(conv.id));
}

function joined(app, frame) {
  const state = app.state;
  const room = roomOf(frame);
  if (state.isMe(frame.user)) {
    const conv = state.conversation(room);
    if (frame.room === undefined || frame.room === null) {
      conv.setMember(frame.user);
      app.notice(LOBBY, [{ name: frame.user }, " has joined the chat!"], "", frame.ts);
    } else if (app.rejoining.has(room)) {
      app.rejoining.delete(room);
      app.askMembers(room);
    } else {
      app.askMembers(room); // before switching, so the switch does not ask twice
      conv.setMember(frame.user);
      app.switchTo(room);
      if (app.replay === 0 && conv.firstId === null) app.requestHistory(room, "fill", 50);
    }
    app.renderSidebar();
    if (room === state.current) app.view.checkTop(); // the replay is in: fill a tall screen
    return;
  }
  const conv = state.conversations.get(room);
  if (!conv) return;
  if (conv.count !== null && !conv.members.has(nameKey(frame.user))) conv.count += 1;
  conv.setMember(frame.user);
  const where = frame.room ? frame.room : "the chat!";
  app.notice(room, [{ name: frame.user }, ` has joined ${where}`], "", frame.ts);
  if (room === state.current) app.renderSidebar();
}

function left(app, frame) {
  const state = app.state;
  const room = roomOf(frame);
  if (state.isMe(frame.user)) {
    if (frame.by) {
      app.endSession(removal(frame, "You were"));
    } else if (frame.reason === "part") {
      state.conversations.delete(room);
      if (state.current === room) app.switchTo(LOBBY);
      else app.renderSidebar();
    }
    return;
  }
  const conv = state.conversations.get(room);
  if (!conv) return;
  if (conv.count !== null) conv.count = Math.max(conv.members.size - 1, conv.count - 1);
  conv.removeMember(frame.user);
  if (frame.by) {
    app.notice(room, [{ name: frame.user }, " " + removal(frame, "was")], "", frame.ts);
  } else {
    const reason = LEFT_REASONS[frame.reason];
    const where = frame.room ? frame.room : "the chat!";
    app.notice(room, [{ name: frame.user }, ` has left ${where}${reason ? ` (${reason})` : ""}`], "", frame.ts);
  }
  if (room === state.current) app.renderSidebar();
}

/** "You were kicked by alice: spam" / "was banned by alice". */
function removal(frame, who) {
  const what = frame.reason === "banned" ? "banned" : "kicked";
  return `${who} ${what} by ${frame.by}${frame.message ? `: ${frame.message}` : ""}`;
}

function nick(app, frame) {
  const state = app.state;
  if (state.isMe(frame.old)) state.me = frame.new;
  let told = false;
  for (const conv of [...state.conversations.values()]) {
    if (conv.kind === "private" && conv.id === privateId(frame.old)) {
      state.conversations.delete(conv.id);
      conv.id = privateId(frame.new);
      conv.label = frame.new;
      state.conversations.set(conv.id, conv);
      if (state.current === privateId(frame.old)) state.current = conv.id;
    }
    const member = conv.members.get(nameKey(frame.old));
    if (!member) continue;
    conv.removeMember(frame.old);
    conv.setMember(frame.new, member.away);
    if (conv.kind === "room") {
      app.notice(conv.id, [{ name: frame.old }, " is now known as ", { name: frame.new }], "", frame.ts);
      told = true;
    }
  }
  if (!told) app.notice(state.current, [{ name: frame.old }, " is now known as ", { name: frame.new }], "", frame.ts);
  app.renderSidebar();
  app.renderHeader();
}

function users(app, frame) {
  const list = Array.isArray(frame.users) ? frame.users : [];
  const room = roomOf(frame);
  const away = frame.away || {};
  if (app.silentWho[0] === room) {
    app.silentWho.shift();
    const conv = app.state.conversations.get(room);
    if (!conv) return;
    conv.members.clear();
    conv.count = null; // the whole list: nobody else
    for (const name of list) conv.setMember(name, away[name] ?? null);
    if (room === app.state.current) app.renderSidebar();
    return;
  }
  const where = frame.room ? ` in ${frame.room}` : "";
  const parts = [`Online${where} (${list.length}): `];
  list.forEach((name, index) => parts.push(...(index ? [", "] : []), { name }));
  const awayNames = Object.keys(away);
  if (awayNames.length) parts.push("; away: " + awayNames.map((n) => `${n} (${away[n]})`).join(", "));
  app.notice(app.state.current, parts);
}

/**
 * A crowded room's summary, once a second instead of a joined or left each: the names here now
 * and gone now (a few of each), how many came and went, and how many are here.
 */
function presence(app, frame) {
  const conv = app.state.conversations.get(roomOf(frame));
  if (!conv || typeof frame.count !== "number") return;
  const names = (list) => (Array.isArray(list) ? list.filter((name) => typeof name === "string") : []);
  const joined = names(frame.joined);
  const left = names(frame.left);
  for (const name of joined) {
    if (!conv.members.has(nameKey(name))) conv.setMember(name);
  }
  for (const name of left) conv.removeMember(name);
  conv.count = frame.count;
  app.notice(conv.id, presenceWords(frame, joined, left), "", frame.ts);
  if (conv.id === app.state.current) app.renderSidebar();
}

/** "12 people joined the chat: a, b and 10 more; 1 left: c (5012 online)", names as names. */
function presenceWords(frame, joined, left) {
  const where = frame.room ? frame.room : "the chat";
  const parts = [];
  const some = (list, total) => {
    list.forEach((name, index) => parts.push(...(index ? [", "] : []), { name }));
    if (total > list.length) parts.push(` and ${total - list.length} more`);
  };
  const joins = Number(frame.joins) || 0;
  const leaves = Number(frame.leaves) || 0;
  if (joins) {
    parts.push(`${joins} ${joins === 1 ? "person" : "people"} joined ${where}: `);
    some(joined, joins);
  }
  if (leaves) {
    const people = leaves === 1 ? "person" : "people";
    parts.push(joins ? `; ${leaves} left: ` : `${leaves} ${people} left ${where}: `);
    some(left, leaves);
  }
  parts.push(frame.room ? ` (${frame.count} in ${frame.room})` : ` (${frame.count} online)`);
  return parts;
}

function rooms(app, frame) {
  const list = Array.isArray(frame.rooms) ? frame.rooms : [];
  for (const info of list) {
    app.state.knownRooms.add(info.room);
    const conv = app.state.conversations.get(info.room);
    if (conv && conv.kind === "room") conv.topic = info.topic || "";
  }
  const words = list.map((info) => `${info.room} (${info.users})${info.topic ? ` – ${info.topic}` : ""}`);
  app.notice(app.state.current, [`Rooms: ${words.join(", ")}`]);
  app.renderHeader();
}

function topic(app, frame) {
  const room = roomOf(frame);
  const conv = app.state.conversations.get(room);
  if (conv) conv.topic = frame.text || "";
  const by = frame.by ? ` (set by ${frame.by})` : "";
  const line = frame.text ? `Topic of ${room}: ${frame.text}${by}` : `${room} has no topic${by}`;
  app.notice(conv ? room : app.state.current, [line], "", frame.ts);
  app.renderHeader();
}

function mode(app, frame) {
  const flags = [frame.invite_only && "invite-only", frame.moderated && "moderated"].filter(Boolean);
  const what = flags.length ? `is ${flags.join(" and ")}` : "is open to everyone";
  const room = roomOf(frame);
  const target = app.state.conversations.has(room) ? room : app.state.current;
  app.notice(target, [`${room} ${what}${frame.by ? ` (set by ${frame.by})` : ""}`]);
}

function away(app, frame) {
  const text = typeof frame.text === "string" ? frame.text : null;
  for (const conv of app.state.conversations.values()) {
    const member = conv.members.get(nameKey(frame.user));
    if (member) member.away = text;
  }
  const line = text === null ? " is back" : ` is away: ${text}`;
  app.notice(app.state.current, [{ name: frame.user }, line]);
  app.renderSidebar();
}

function whois(app, frame) {
  const parts = [frame.registered ? "registered" : "not registered"];
  if (frame.role) parts.push(`role ${frame.role}`);
  if (Array.isArray(frame.rooms)) parts.push(`in ${frame.rooms.join(", ")}`);
  if (typeof frame.idle === "number") parts.push(`idle ${frame.idle}s`);
  if (frame.since) parts.push(`connected since ${new Date(frame.since).toLocaleString()}`);
  if (frame.address) parts.push(`address ${frame.address}`);
  if (frame.away) parts.push(`away: ${frame.away}`);
  app.notice(app.state.current, [{ name: frame.user }, `: ${parts.join("; ")}`]);
}

function ignored(app, frame) {
  const list = Array.isArray(frame.users) ? frame.users : [];
  app.notice(app.state.current, [list.length ? `Ignored (${list.length}): ${list.join(", ")}` : "You ignore nobody."]);
}

function bans(app, frame) {
  const list = Array.isArray(frame.bans) ? frame.bans : [];
  const words = list.map((ban) => {
    const until = ban.until ? ` until ${new Date(ban.until).toLocaleString()}` : "";
    return `${ban.target} (${ban.kind}, by ${ban.by}${until}${ban.reason ? `: ${ban.reason}` : ""})`;
  });
  app.notice(app.state.current, [list.length ? `Bans (${list.length}): ${words.join(", ")}` : "No bans."]);
}

// Messages asked for per page when resuming (the server's most).
const RESUME_PAGE = 500;

function historyEnd(app, frame) {
  const request = app.pendingHistory.shift();
  if (!request) {
    const plural = frame.count === 1 ? "" : "s";
    app.notice(app.state.current, [`End of history (${frame.count} message${plural})`]);
    return;
  }
  const conv = app.state.conversations.get(request.room);
  if (conv) {
    conv.loading = false;
    if (request.kind !== "resume") conv.more = Boolean(frame.more);
  }
  if (request.kind === "resume" && frame.more && !request.reached && request.oldest !== undefined) {
    // More was said while away than one page holds: the page before it, until the floor.
    app.requestHistory(request.room, "resume", RESUME_PAGE, request.oldest, request.floor);
  }
  if (request.kind === "older") {
    app.view.busy(false);
    if (conv && conv.id === app.state.current && frame.count > 0) app.view.checkTop();
  }
}

function error(app, frame) {
  if (frame.re === "hello" && !app.online) {
    app.refused(frame);
  } else if (frame.code === "replaced") {
    app.endSession(frame.message || "Your name was logged into elsewhere.");
  } else {
    app.notice(app.state.current, [`error: ${frame.message || frame.code}`], "error");
  }
}

function shutdown(app, frame) {
  app.notice(app.state.current, [frame.message || "The server is shutting down."], "error");
}

function pong(app, frame) {
  if (typeof frame.token === "string" && frame.token.startsWith("keepalive-")) return;
  app.notice(app.state.current, [pongText(frame.token)]);
}

function pongText(token) {
  if (token === undefined || token === null) return "pong";
  return `pong ${typeof token === "string" ? token : JSON.stringify(token)}`;
}

function welcome(app, frame) {
  const lobby = app.state.conversation(LOBBY);
  lobby.count = null;
  if (typeof frame.count === "number" && Array.isArray(frame.users)) {
    // A crowd: the welcome names some of them and counts everyone. The list is kept from these
    // names and the summaries, not asked for: a who per login would cost every login the crowd.
    lobby.members.clear();
    for (const name of frame.users) if (typeof name === "string") lobby.setMember(name);
    lobby.count = frame.count;
  }
  app.welcomed(frame);
  if (typeof frame.topic === "string") lobby.topic = frame.topic;
  app.renderHeader();
}

const HANDLERS = {
  welcome,
  message,
  joined,
  left,
  nick,
  users,
  presence,
  rooms,
  topic,
  mode,
  away,
  whois,
  ignored,
  bans,
  history_end: historyEnd,
  error,
  shutdown,
  pong,
  notice: (app, frame) => app.notice(app.state.current, [`*** ${frame.text}`]),
  motd: (app, frame) =>
    String(frame.text || "")
      .split("\n")
      .forEach((line) => app.notice(LOBBY, [`- ${line}`])),
};
