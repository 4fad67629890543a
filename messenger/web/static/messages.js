/**
 * The message list (#messages, role="log"): one conversation's entries, kept in id order.
 *
 * Every piece of user text goes in with textContent, never as HTML. The view stays where the
 * reader put it: older pages inserted above keep what is on screen in place, and messages that
 * arrive while the reader is scrolled up are counted in the "N new ↓" button instead of moving
 * the view. A "new messages" line sits above the first message the reader had not seen.
 */

import { fullTime, localTime } from "./clock.js";
import { forDisplay, nameColour } from "./names.js";

/** How close to the bottom (px) still counts as "at the bottom". */
const BOTTOM_SLACK = 48;
/** How close to the top (px) asks for the older page. */
const TOP_SLACK = 80;
/** Longer texts are shown folded, with a button to show them whole (a 16 KiB line fills screens). */
const FOLD_AT = 1200;

/** An element with a class and, optionally, text (always as text). */
function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A name in its colour (the terminal's), as text. */
export function nameElement(name, tag = "span", extra = "") {
  const el = element(tag, `name name-c${nameColour(name)} ${extra}`.trim(), forDisplay(name));
  el.dataset.name = name;
  return el;
}

/** The element for a chat message: time, sender (→ recipient), text; marks as classes. */
function messageElement(frame, info) {
  const li = element("li", "message");
  li.dataset.id = String(frame.id);
  li.classList.toggle("own", info.own);
  li.classList.toggle("mention", info.mention);
  li.classList.toggle("action", Boolean(frame.action));
  li.classList.toggle("private", frame.to != null);
  const time = element("time", "time", localTime(frame.ts));
  if (frame.ts) time.dateTime = frame.ts;
  time.title = fullTime(frame.ts);
  li.append(time, " ");
  if (frame.action) li.append(element("span", "action-mark", "* "));
  li.append(nameElement(frame.from, "span", "sender"));
  if (frame.to != null && info.showRecipient) {
    li.append(element("span", "arrow", " → "), nameElement(frame.to, "span", "recipient"));
  }
  li.append(element("span", "separator", frame.action ? " " : ": "));
  li.append(element("span", "text", forDisplay(frame.text)));
  if (frame.text.length > FOLD_AT) li.append(foldButton(li, frame.text.length));
  return li;
}

/** Folds a long message to a few lines; the button shows it whole (and folds it again). */
function foldButton(li, length) {
  li.classList.add("folded");
  const button = element("button", "fold-button", `Show all ${length} characters`);
  button.type = "button";
  button.setAttribute("aria-expanded", "false");
  button.addEventListener("click", () => {
    const folded = li.classList.toggle("folded");
    button.setAttribute("aria-expanded", String(!folded));
    button.textContent = folded ? `Show all ${length} characters` : "Show less";
  });
  return button;
}

/** The element for a notice: a line from the chat itself (joined, left, errors, answers). */
function noticeElement(notice) {
  const li = element("li", `notice ${notice.kind || ""}`.trim());
  const time = element("time", "time", localTime(notice.ts));
  li.append(time, " ");
  for (const part of notice.parts) {
    li.append(typeof part === "string" ? forDisplay(part) : nameElement(part.name));
  }
  return li;
}

export class MessageView {
  /** @param {{onNearTop: () => void, onAtBottom: () => void}} handlers */
  constructor(handlers) {
    this.list = document.getElementById("messages");
    this.newBelow = document.getElementById("new-below");
    this.handlers = handlers;
    this.conv = null;
    this.unseenBelow = 0;
    this.unreadLine = element("li", "unread-line", "New messages");
    this.unreadLine.setAttribute("role", "separator");
    this.list.addEventListener("scroll", () => this.scrolled(), { passive: true });
    this.newBelow.addEventListener("click", () => this.toBottom());
  }

  /** Show `conv` from scratch: its entries, the "new messages" line, at the bottom. */
  show(conv, describe) {
    this.conv = conv;
    this.describe = describe;
    this.list.setAttribute("aria-busy", "true");
    this.list.replaceChildren(...conv.entries.map((entry) => this.elementOf(entry)));
    this.placeUnreadLine();
    this.setUnseen(0);
    this.toBottom();
    this.list.setAttribute("aria-busy", "false");
    this.list.setAttribute("aria-label", `Messages in ${conv.label}`);
    this.checkTop();
  }

  /** An entry's element, made once and kept (switching back is then cheap). */
  elementOf(entry) {
    if (entry.el === null) {
      entry.el = entry.frame ? messageElement(entry.frame, this.describe(entry.frame)) : noticeElement(entry.notice);
    }
    return entry.el;
  }

  /**
   * Put an entry of the shown conversation at its place. `live`: it just arrived (counts in
   * "N new ↓" when the reader is scrolled up); otherwise it is history filling in above.
   */
  place(entry, index, live) {
    const atBottom = this.atBottom();
    const fromBottom = this.list.scrollHeight - this.list.scrollTop;
    const next = this.conv.entries[index + 1];
    const anchor = next ? this.anchorOf(next) : null;
    this.list.insertBefore(this.elementOf(entry), anchor);
    if (atBottom && (live || anchor === null)) {
      this.toBottom();
    } else if (anchor !== null) {
      this.list.scrollTop = this.list.scrollHeight - fromBottom; // what was on screen stays put
    } else if (live && entry.frame) {
      this.setUnseen(this.unseenBelow + 1);
    }
  }

  /** The node to insert before: the unread line when it sits right above that entry. */
  anchorOf(entry) {
    const el = this.elementOf(entry);
    return this.unreadLine.nextSibling === el ? this.unreadLine : el;
  }

  /** Draw the "new messages" line above the conversation's first unread entry, if any. */
  placeUnreadLine() {
    const first = this.conv.firstUnread;
    if (first && first.el && first.el.parentNode === this.list) {
      this.list.insertBefore(this.unreadLine, first.el);
    } else {
      this.unreadLine.remove();
    }
  }

  /** Redraw one message (its mention mark or name changed). */
  refresh(entry) {
    if (!entry.el) return;
    const old = entry.el;
    entry.el = null;
    const fresh = this.elementOf(entry);
    if (old.parentNode === this.list) this.list.replaceChild(fresh, old);
  }

  atBottom() {
    const list = this.list;
    return list.scrollHeight - list.scrollTop - list.clientHeight <= BOTTOM_SLACK;
  }

  toBottom() {
    this.list.scrollTop = this.list.scrollHeight;
    this.setUnseen(0);
  }

  setUnseen(count) {
    this.unseenBelow = count;
    this.newBelow.hidden = count === 0;
    this.newBelow.textContent = `${count} new ↓`;
  }

  scrolled() {
    if (this.atBottom()) {
      if (this.unseenBelow) this.setUnseen(0);
      this.handlers.onAtBottom();
    }
    this.checkTop();
  }

  /** Ask for the older page when the top is near (or the list does not fill the view). */
  checkTop() {
    if (this.conv && this.list.scrollTop <= TOP_SLACK) this.handlers.onNearTop();
  }

  /** Older history is being fetched: say so to assistive technology, not as new messages. */
  busy(flag) {
    this.list.setAttribute("aria-busy", flag ? "true" : "false");
  }
}
