/**
 * Desktop notifications, opt-in: for mentions and private messages, only while the tab is
 * hidden (someone looking at the page sees them already). The choice is remembered in
 * localStorage; the browser's own permission is asked only when the person turns them on.
 */

import { forDisplay } from "./names.js";

const KEY = "messenger.notify";

export class Notifier {
  constructor() {
    this.button = document.getElementById("notify-toggle");
    this.enabled = localStorage.getItem(KEY) === "on" && this.permitted();
    this.button.hidden = !("Notification" in window);
    this.button.addEventListener("click", () => this.toggle());
    this.render();
  }

  permitted() {
    return "Notification" in window && Notification.permission === "granted";
  }

  async toggle() {
    if (!this.enabled && "Notification" in window && Notification.permission !== "granted") {
      const answer = await Notification.requestPermission();
      if (answer !== "granted") {
        this.button.title = "Notifications are blocked for this page in the browser's settings";
        return;
      }
    }
    this.enabled = !this.enabled;
    localStorage.setItem(KEY, this.enabled ? "on" : "off");
    this.render();
  }

  render() {
    this.button.textContent = this.enabled ? "Notify: on" : "Notify: off";
    this.button.setAttribute("aria-pressed", String(this.enabled));
  }

  /**
   * Tell the person about a message that names them or is private to them, if they asked for
   * it and cannot see the page. `onOpen` brings its conversation up when clicked.
   */
  message(frame, where, onOpen) {
    if (!this.enabled || !document.hidden || !this.permitted()) return;
    const title = frame.to != null ? `${forDisplay(frame.from)} (private)` : `${forDisplay(frame.from)} in ${where}`;
    const note = new Notification(title, { body: forDisplay(frame.text).slice(0, 300), tag: `messenger-${frame.id}` });
    note.addEventListener("click", () => {
      window.focus();
      onOpen();
      note.close();
    });
  }
}
