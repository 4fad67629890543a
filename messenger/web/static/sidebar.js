/**
 * The sidebar: the rooms and private conversations (#rooms, each item `data-room`, its unread
 * count in `.unread`, a mention mark `.mention`) and the people in the shown conversation
 * (#people, each item `data-user`, with their away text). Every control is a real button, so
 * the keyboard reaches all of them; names and rooms go in as text.
 */

import { nameElement } from "./messages.js";
import { forDisplay } from "./names.js";
import { LOBBY } from "./state.js";

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

export class Sidebar {
  /**
   * @param {{onSwitch: (id: string) => void, onClose: (id: string) => void,
   *          onJoin: (room: string) => void, onPerson: (name: string) => void}} handlers
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.rooms = document.getElementById("rooms");
    this.people = document.getElementById("people");
    this.nav = document.getElementById("sidebar");
    this.toggle = document.getElementById("sidebar-toggle");
    this.rooms.addEventListener("click", (event) => this.roomClicked(event));
    this.people.addEventListener("click", (event) => this.personClicked(event));
    this.toggle.addEventListener("click", () => this.setOpen(!this.isOpen()));
    document.getElementById("join-form").addEventListener("submit", (event) => this.joinSubmitted(event));
  }

  /** Draw the conversation list: rooms first (the lobby on top), then private ones. */
  renderRooms(state) {
    const convs = [...state.conversations.values()].sort((a, b) => rank(a) - rank(b) || compare(a.id, b.id));
    this.rooms.replaceChildren(...convs.map((conv) => this.roomItem(conv, conv.id === state.current)));
  }

  roomItem(conv, current) {
    const li = element("li", `room-item ${conv.kind}`);
    // Rooms by name; a private conversation as "@" and the person's name as shown.
    li.dataset.room = conv.kind === "private" ? "@" + conv.label : conv.id;
    li.dataset.conv = conv.id;
    const button = element("button", "room-button");
    button.type = "button";
    button.dataset.action = "switch";
    if (current) button.setAttribute("aria-current", "true");
    button.append(conv.kind === "private" ? nameElement(conv.label) : element("span", "room-name", forDisplay(conv.label)));
    if (conv.mention) {
      const mark = element("span", "mention", "@");
      mark.title = "You were mentioned";
      button.append(mark);
    }
    if (conv.unread > 0) button.append(element("span", "unread", String(conv.unread)));
    button.setAttribute("aria-label", describe(conv));
    li.append(button);
    if (conv.id !== LOBBY) li.append(this.closeButton(conv));
    return li;
  }

  closeButton(conv) {
    const close = element("button", "close-button", "×");
    close.type = "button";
    close.dataset.action = "close";
    const what = conv.kind === "private" ? `Close the conversation with ${conv.label}` : `Leave ${conv.label}`;
    close.setAttribute("aria-label", what);
    close.title = what;
    return close;
  }

  /** Draw who is in the shown conversation, with their away text. */
  renderPeople(conv, isMe) {
    const items = conv.sortedMembers().map((member) => {
      const li = element("li", "person");
      li.dataset.user = member.name;
      const button = element("button", "person-button");
      button.type = "button";
      button.append(nameElement(member.name));
      if (isMe(member.name)) button.append(element("span", "you", " (you)"));
      if (member.away !== null) button.append(element("span", "away", `away: ${forDisplay(member.away)}`));
      button.title = isMe(member.name) ? "You" : `Private conversation with ${member.name}`;
      li.classList.toggle("is-away", member.away !== null);
      li.append(button);
      return li;
    });
    const more = conv.count === null ? 0 : conv.count - conv.members.size;
    if (more > 0) items.push(element("li", "person more", `and ${more} more`));
    this.people.replaceChildren(...items);
  }

  roomClicked(event) {
    const button = event.target.closest("button");
    const item = event.target.closest("[data-conv]");
    if (!item) return;
    if (button && button.dataset.action === "close") this.handlers.onClose(item.dataset.conv);
    else this.handlers.onSwitch(item.dataset.conv);
    if (!button || button.dataset.action !== "close") this.setOpen(false);
  }

  personClicked(event) {
    const item = event.target.closest("[data-user]");
    if (item) {
      this.handlers.onPerson(item.dataset.user);
      this.setOpen(false);
    }
  }

  joinSubmitted(event) {
    event.preventDefault();
    const input = document.getElementById("join-room");
    let room = input.value.trim();
    if (!room) return;
    if (!room.startsWith("#")) room = "#" + room;
    input.value = "";
    this.handlers.onJoin(room);
    this.setOpen(false);
  }

  /** At phone width the sidebar is a drawer. */
  isOpen() {
    return this.nav.classList.contains("open");
  }

  setOpen(open) {
    this.nav.classList.toggle("open", open);
    this.toggle.setAttribute("aria-expanded", String(open));
  }
}

function rank(conv) {
  return conv.id === LOBBY ? 0 : conv.kind === "room" ? 1 : 2;
}

function compare(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What a screen reader says for a sidebar item. */
function describe(conv) {
  const what = conv.kind === "private" ? `Private conversation with ${conv.label}` : conv.label;
  const unread = conv.unread > 0 ? `, ${conv.unread} unread` : "";
  return what + unread + (conv.mention ? ", mentions you" : "");
}
