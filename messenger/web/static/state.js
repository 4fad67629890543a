/**
 * What the page knows of the chat, without any DOM: the conversations (rooms and private
 * ones), their entries kept in message-id order, unread counts and mention marks, the highest
 * message id seen per history (for resuming without gap or duplicate), and who is in a room.
 */

import { nameKey } from "./names.js";

export const LOBBY = "#lobby";

/** The id of the private conversation with `name` (one per person, however they spell it). */
export function privateId(name) {
  return "@" + nameKey(name);
}

/** Which history a message belongs to: its room, the lobby for private ones (as the server keeps them). */
export function historyOf(frame) {
  return frame.to != null ? LOBBY : frame.room || LOBBY;
}

/** Order of entries: messages by id; a notice right after the message that was last when it came. */
function before(a, b) {
  return a.id !== b.id ? a.id < b.id : a.seq < b.seq;
}

export class Conversation {
  /** @param {string} id "#room" or "@key"; @param {string} label what the sidebar shows */
  constructor(id, label, kind) {
    this.id = id;
    this.label = label;
    this.kind = kind; // "room" or "private"
    this.entries = []; // {id, seq, frame | notice, el}
    this.ids = new Set();
    this.seq = 0;
    this.unread = 0;
    this.mention = false;
    this.firstUnread = null; // the entry the "new messages" line goes above
    this.topic = "";
    this.members = new Map(); // name key -> {name, away}
    this.count = null; // in a crowded room: how many are here (members holds some of them)
    this.more = kind === "room"; // older history may exist
    this.loading = false;
  }

  /** The highest message id held, 0 when none. */
  get lastId() {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i].frame) return this.entries[i].id;
    }
    return 0;
  }

  /** The lowest message id held (where scrolling back continues from), or null. */
  get firstId() {
    const first = this.entries.find((entry) => entry.frame);
    return first ? first.id : null;
  }

  /**
   * Add a message in id order; null when that id is already here (a resumed page overlapping
   * what was shown). Returns the entry and its index.
   */
  addMessage(frame) {
    if (this.ids.has(frame.id)) return null;
    this.ids.add(frame.id);
    return this.insert({ id: frame.id, seq: 0, frame, el: null });
  }

  /** Add a line that is not a message (joined, left, errors ...) after the newest message. */
  addNotice(notice) {
    this.seq += 1;
    return this.insert({ id: this.lastId, seq: this.seq, notice, el: null });
  }

  insert(entry) {
    let index = this.entries.length;
    while (index > 0 && before(entry, this.entries[index - 1])) index -= 1;
    this.entries.splice(index, 0, entry);
    return { entry, index };
  }

  /** Someone is here (or their away text changed). */
  setMember(name, away = null) {
    this.members.set(nameKey(name), { name, away });
  }

  removeMember(name) {
    this.members.delete(nameKey(name));
  }

  /** The member list sorted as the server sorts it (case-insensitively). */
  sortedMembers() {
    return [...this.members.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, m]) => m);
  }

  /** The person has read it all: no count, no mark (the "new messages" line stays for now). */
  markRead() {
    this.unread = 0;
    this.mention = false;
  }
}

export class ChatState {
  constructor() {
    this.me = null;
    this.account = null;
    this.password = null; // kept in memory for reconnecting, never stored
    this.conversations = new Map();
    this.current = LOBBY;
    this.highest = new Map(); // history (room) -> highest message id seen
    this.knownRooms = new Set([LOBBY]);
    this.conversation(LOBBY);
  }

  /** The conversation for a room or private id, made when first needed. */
  conversation(id, label = id) {
    let conv = this.conversations.get(id);
    if (!conv) {
      conv = new Conversation(id, label, id.startsWith("@") ? "private" : "room");
      this.conversations.set(id, conv);
      if (conv.kind === "room") this.knownRooms.add(id);
    }
    return conv;
  }

  /** The private conversation with `name`, labelled with the name as last seen. */
  privateWith(name) {
    const conv = this.conversation(privateId(name), name);
    conv.label = name;
    return conv;
  }

  /** Where a message is shown: its room, or the private conversation with the other person. */
  conversationOf(frame) {
    if (frame.to == null) return this.conversation(frame.room || LOBBY);
    const other = this.isMe(frame.from) ? frame.to : frame.from;
    return this.privateWith(other);
  }

  isMe(name) {
    return this.me !== null && name != null && nameKey(name) === nameKey(this.me);
  }

  /** Remember a message id as seen in its history; false when it was seen before. */
  see(frame) {
    const history = historyOf(frame);
    const seen = this.highest.get(history) ?? 0;
    if (frame.id > seen) this.highest.set(history, frame.id);
    return frame.id > seen;
  }

  /** The rooms we are in (every room conversation is one we joined). */
  rooms() {
    return [...this.conversations.values()].filter((conv) => conv.kind === "room").map((c) => c.id);
  }

  /** Total unread messages, for the tab's title. */
  totalUnread() {
    let total = 0;
    for (const conv of this.conversations.values()) total += conv.unread;
    return total;
  }
}
