/**
 * The page's controller: logging in, the connection's life (online, offline, resuming), which
 * conversation is shown, and what a typed line becomes. Frames from the server are handled in
 * frames.js; the DOM is drawn by messages.js and sidebar.js; this module ties them together.
 */

import { Composer } from "./composer.js";
import { handleFrame } from "./frames.js";
import { Link } from "./link.js";
import { MessageView } from "./messages.js";
import { loadNameData, mentions, nameKey } from "./names.js";
import { Notifier } from "./notify.js";
import { Sidebar } from "./sidebar.js";
import { ChatState, LOBBY } from "./state.js";

const NAME_KEY = "messenger.name";
const REPLAY = 50; // messages replayed on login and on joining a room
const PAGE = 50; // messages per older page when scrolling back
const RESUME = 500; // messages asked for per room after reconnecting (the server's most)
const RETRY_REFUSED = 5; // reconnecting logins refused as name_taken or rate_limited before giving up

const $ = (id) => document.getElementById(id);

export class App {
  constructor() {
    this.state = new ChatState();
    this.commands = [];
    this.session = false; // logged in at least once: reconnect and resume from now on
    this.online = false;
    this.replay = REPLAY; // the history count of the current login's hello
    this.pendingHistory = []; // {room, kind: "older" | "resume" | "fill", floor}, in answer order
    this.silentWho = []; // rooms whose member list we asked for ourselves
    this.rejoining = new Set(); // rooms re-joined after reconnecting: no switch to them
    this.retries = 0; // reconnecting logins refused in a row
    this.link = new Link({
      onOpen: () => this.opened(),
      onFrame: (frame) => handleFrame(this, frame),
      onClose: (retry, delay) => this.closed(retry, delay),
    });
    this.view = new MessageView({ onNearTop: () => this.loadOlder(), onAtBottom: () => this.readCurrent() });
    this.sidebar = new Sidebar({
      onSwitch: (id) => this.switchTo(id),
      onClose: (id) => this.closeConversation(id),
      onJoin: (room) => this.send({ type: "join", room }),
      onPerson: (name) => this.openPrivate(name),
    });
    this.composer = new Composer({
      onLines: (lines) => lines.forEach((line) => this.sendLine(line)),
      candidates: (word, first) => this.candidates(word, first),
    });
    this.notifier = new Notifier();
    $("messages").addEventListener("click", (event) => this.nameClicked(event));
    document.addEventListener("visibilitychange", () => this.readCurrent());
  }

  /** Load what the page needs from the server, then show the login form. */
  async start() {
    const form = $("login-form");
    form.addEventListener("submit", (event) => this.loginSubmitted(event));
    $("login-name").value = localStorage.getItem(NAME_KEY) || "";
    await Promise.all([loadNameData().catch(() => {}), this.loadCommands()]);
    $("login-name").focus();
  }

  async loadCommands() {
    try {
      const response = await fetch("/commands.json");
      if (response.ok) this.commands = (await response.json()).commands || [];
    } catch {
      this.commands = []; // completion of commands is a convenience; chat works without it
    }
  }

  // ---- logging in ---------------------------------------------------------------------

  loginSubmitted(event) {
    event.preventDefault();
    const name = $("login-name").value.trim();
    if (!name) {
      this.loginError("Type a name first.");
      return;
    }
    this.state.password = $("login-password").value || null;
    this.wanted = name;
    localStorage.setItem(NAME_KEY, name);
    this.loginError("");
    $("login-submit").disabled = true;
    if (this.link.open) this.hello(name, REPLAY);
    else this.link.connect();
  }

  /** Log in: the first time with history, after a reconnect without (we resume by id). */
  hello(user, history) {
    const frame = { type: "hello", user, history, presence: true }; // away changes keep the list current
    if (this.state.password) frame.password = this.state.password;
    if (this.session && this.state.account) frame.account = this.state.account;
    this.replay = history;
    this.link.send(frame);
  }

  opened() {
    if (this.session) this.hello(this.state.me, 0);
    else this.hello(this.wanted, REPLAY);
  }

  loginError(text) {
    $("login-error").textContent = text;
    $("login-submit").disabled = false;
  }

  /** A login was refused (`error` with re "hello"). */
  refused(frame) {
    if (!this.session) {
      this.loginError(frame.message || frame.code);
      if (frame.code === "password_required" || frame.code === "bad_password") $("login-password").focus();
      else $("login-name").focus();
      return;
    }
    // Our dropped connection may hold the name a moment longer, or the server is busy: try
    // again later, but not for ever (someone else may have taken the name).
    if ((frame.code === "name_taken" || frame.code === "rate_limited") && this.retries < RETRY_REFUSED) {
      this.retries += 1;
      this.link.socket.close();
      return;
    }
    this.endSession(`Could not log in again: ${frame.message || frame.code}`);
  }

  /** The server accepted us (first login or after reconnecting). */
  welcomed(frame) {
    const state = this.state;
    const resuming = this.session;
    state.me = frame.user;
    state.account = frame.account || state.account;
    this.session = true;
    this.online = true;
    this.retries = 0;
    this.link.loggedIn();
    $("login-view").hidden = true;
    $("chat-view").hidden = false;
    this.setStatus("online");
    if (resuming) {
      this.notice(state.current, ["Back online; what was said meanwhile follows."]);
      this.resume();
      this.askMembers(state.current);
    } else {
      this.switchTo(LOBBY);
    }
    this.renderSidebar();
    this.renderHeader();
  }

  /** Back after a reconnect: re-join our rooms and fetch exactly what was missed, by id. */
  resume() {
    this.forgetRequests();
    this.requestHistory(LOBBY, "resume", RESUME);
    for (const room of this.state.rooms()) {
      if (room === LOBBY) continue;
      this.rejoining.add(room);
      this.send({ type: "join", room });
      this.requestHistory(room, "resume", RESUME);
    }
  }

  closed(retry, delay) {
    const wasOnline = this.online;
    this.online = false;
    this.forgetRequests();
    if (!this.session) {
      if ($("login-submit").disabled) this.loginError("Could not reach the chat server. Try again.");
      return;
    }
    if (wasOnline) this.notice(this.state.current, ["Offline: the connection to the server was lost."], "error");
    if (retry) this.setStatus(`offline — reconnecting in ${Math.ceil(delay / 1000)} s`, "offline");
    this.renderHeader();
  }

  /** Answers that can no longer come (the socket is gone): nothing waits for them. */
  forgetRequests() {
    this.pendingHistory = [];
    this.silentWho = [];
    this.rejoining.clear();
    for (const conv of this.state.conversations.values()) conv.loading = false;
    this.view.busy(false);
  }

  /** No coming back (kicked, banned, replaced, quit): say why and offer to log in again. */
  endSession(why) {
    this.link.stop();
    this.session = false;
    this.online = false;
    this.setStatus(`offline — ${why}`, "offline");
    this.notice(this.state.current, [why], "error");
    $("chat-view").hidden = true;
    $("login-view").hidden = false;
    this.loginError(why);
    this.forgetRequests();
    this.state = new ChatState();
  }

  setStatus(text, kind = "online") {
    const status = $("status");
    status.textContent = text;
    status.className = `status ${kind}`;
  }

  // ---- conversations ------------------------------------------------------------------

  switchTo(id) {
    const state = this.state;
    const previous = state.conversations.get(state.current);
    if (previous && previous.id !== id) previous.firstUnread = null;
    const conv = state.conversations.get(id) || state.conversation(LOBBY);
    state.current = conv.id;
    this.view.show(conv, (frame) => this.describe(frame));
    this.readCurrent();
    if (conv.kind === "room" && conv.members.size === 0) this.askMembers(conv.id);
    this.renderSidebar();
    this.renderHeader();
    this.composer.focus();
  }

  /** The shown conversation has been seen: clear its count and mark (if the tab is visible). */
  readCurrent() {
    const conv = this.state.conversations.get(this.state.current);
    if (!conv || document.hidden || (!conv.unread && !conv.mention)) return;
    conv.markRead();
    this.renderSidebar();
  }

  openPrivate(name) {
    if (this.state.isMe(name)) return;
    const conv = this.state.privateWith(name);
    conv.setMember(this.state.me);
    conv.setMember(name);
    this.switchTo(conv.id);
  }

  closeConversation(id) {
    const conv = this.state.conversations.get(id);
    if (!conv) return;
    if (conv.kind === "room") {
      this.send({ type: "part", room: id });
      return;
    }
    this.state.conversations.delete(id);
    if (this.state.current === id) this.switchTo(LOBBY);
    else this.renderSidebar();
  }

  nameClicked(event) {
    const name = event.target.closest(".sender, .recipient");
    if (name && name.dataset.name) this.openPrivate(name.dataset.name);
  }

  /** How a message is drawn for this reader: own, mention (private ones count, as in IRC). */
  describe(frame) {
    const own = this.state.isMe(frame.from);
    return { own, mention: !own && this.isMention(frame), showRecipient: false };
  }

  isMention(frame) {
    return frame.to != null || (this.state.me !== null && mentions(frame.text, this.state.me));
  }

  // ---- requests -----------------------------------------------------------------------

  send(frame) {
    if (this.link.send(frame)) return true;
    this.notice(this.state.current, ["Not sent: you are offline. Nothing is sent later; send it again once back."], "error");
    return false;
  }

  requestHistory(room, kind, limit, before = null, floor = null) {
    const frame = { type: "history", room, limit };
    if (before !== null) frame.before = before;
    if (!this.link.send(frame)) return;
    // A resume's later pages keep the first page's floor: what was seen before the drop.
    if (floor === null) floor = this.state.highest.get(room) ?? 0;
    this.pendingHistory.push({ room, kind, floor });
    const conv = this.state.conversations.get(room);
    if (conv) conv.loading = true;
  }

  /** Scrolled to the top: fetch the page before the oldest message shown. */
  loadOlder() {
    const conv = this.state.conversations.get(this.state.current);
    if (!conv || conv.kind !== "room" || !conv.more || conv.loading || !this.online) return;
    const before = conv.firstId;
    if (before === null) return; // nothing shown yet: the replay is still coming
    this.view.busy(true);
    this.requestHistory(conv.id, "older", PAGE, before);
  }

  askMembers(room) {
    const conv = this.state.conversations.get(room);
    if (!conv || conv.kind !== "room") return;
    if (conv.count !== null) return; // a crowd: its summaries keep the list (/who asks for all)
    if (this.link.send({ type: "who", room })) this.silentWho.push(room);
  }

  /** A typed line, as text mode reads it: `/command`, `//text`, or a message to the shown conversation
   * (`/me` in a private conversation: a private action, as IRC clients send in a query). */
  sendLine(line) {
    const conv = this.state.conversations.get(this.state.current) || this.state.conversation(LOBBY);
    const room = conv.kind === "room" ? conv.id : LOBBY;
    const action = conv.kind === "private" ? /^\/me\s+(\S.*)$/i.exec(line) : null;
    if (action) {
      this.send({ type: "me", text: action[1], to: conv.label });
      return;
    }
    if (line.startsWith("/") && !line.startsWith("//")) {
      if (/^\/quit(\s|$)/i.test(line) && this.send({ type: "command", text: line, room })) {
        this.endSession("You left the chat.");
        return;
      }
      this.send({ type: "command", text: line, room });
      return;
    }
    const text = line.startsWith("//") ? line.slice(1) : line;
    if (conv.kind === "private") this.send({ type: "say", text, to: conv.label });
    else this.send({ type: "say", text, room });
  }

  /** Tab completion: commands for the first word, rooms after `#`, names otherwise. */
  candidates(word, first) {
    const lower = word.toLowerCase();
    if (first && word.startsWith("/")) {
      return this.commands.map((c) => "/" + c.name).filter((c) => c.toLowerCase().startsWith(lower));
    }
    if (word.startsWith("#")) {
      return [...this.state.knownRooms].sort().filter((room) => room.startsWith(lower));
    }
    const at = word.startsWith("@") ? "@" : "";
    const key = nameKey(word.slice(at.length));
    return this.knownNames()
      .filter((name) => nameKey(name).startsWith(key) && !this.state.isMe(name))
      .map((name) => at + name);
  }

  /** Everyone the page has seen in a member list or a private conversation. */
  knownNames() {
    const names = new Map();
    for (const conv of this.state.conversations.values()) {
      for (const member of conv.members.values()) names.set(nameKey(member.name), member.name);
      if (conv.kind === "private") names.set(conv.id.slice(1), conv.label);
    }
    return [...names.values()].sort((a, b) => a.localeCompare(b));
  }

  // ---- drawing ------------------------------------------------------------------------

  /** Add a notice to a conversation and draw it if shown. Parts: strings, or {name}. */
  notice(id, parts, kind = "", ts = undefined) {
    const conv = this.state.conversations.get(id) || this.state.conversation(LOBBY);
    const { entry, index } = conv.addNotice({ parts, kind, ts });
    if (conv.id === this.state.current) this.view.place(entry, index, true);
  }

  renderSidebar() {
    this.sidebar.renderRooms(this.state);
    const conv = this.state.conversations.get(this.state.current);
    if (conv) this.sidebar.renderPeople(conv, (name) => this.state.isMe(name));
    const unread = this.state.totalUnread();
    document.title = unread > 0 ? `(${unread}) messenger` : "messenger";
    // At phone width the sidebar is closed: its button carries the count.
    $("sidebar-toggle").textContent = unread > 0 ? `Rooms (${unread})` : "Rooms";
  }

  renderHeader() {
    const conv = this.state.conversations.get(this.state.current);
    if (!conv) return;
    $("conversation-title").textContent = conv.kind === "private" ? `${conv.label} (private)` : conv.label;
    const topic = conv.kind === "private" ? `Private conversation with ${conv.label}` : conv.topic;
    $("topic").textContent = topic || "";
    $("composer").placeholder = this.online ? `Message ${conv.label}, or /help for commands` : "Offline…";
  }
}

const app = new App();
window.messengerApp = app; // for the browser tests and for debugging from the console
app.start();
