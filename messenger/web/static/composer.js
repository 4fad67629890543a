/**
 * The composer (#composer): one line per message, as everywhere in this chat. Enter sends;
 * pasted text with several lines sends each line; Tab completes the word at the cursor
 * (commands from /commands.json for the first word, rooms after `#`, otherwise names) and
 * cycles through the candidates, Shift+Tab backwards; Up and Down recall what was sent. When
 * there is nothing to complete, Tab moves focus as usual, so the keyboard is never trapped.
 */

const RECALL_LIMIT = 100;

/** The word ending at `caret` in `text`, and where it starts. */
function wordAt(text, caret) {
  let start = caret;
  while (start > 0 && !/\s/.test(text[start - 1])) start -= 1;
  return { start, word: text.slice(start, caret) };
}

export class Composer {
  /**
   * @param {{onLines: (lines: string[]) => void,
   *          candidates: (word: string, first: boolean) => string[]}} handlers
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.input = document.getElementById("composer");
    this.list = document.getElementById("completions");
    this.sent = [];
    this.recallAt = 0;
    this.cycle = null; // {start, options, index, suffix}: the completion being cycled
    this.input.addEventListener("keydown", (event) => this.keydown(event));
    this.input.addEventListener("paste", (event) => this.paste(event));
    this.input.addEventListener("input", () => this.endCycle());
    document.getElementById("composer-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  focus() {
    this.input.focus();
  }

  submit() {
    const line = this.input.value;
    if (line.trim() === "") return;
    this.input.value = "";
    this.endCycle();
    this.remember(line);
    this.handlers.onLines([line]);
  }

  keydown(event) {
    if (event.key === "Tab" && !event.altKey && !event.ctrlKey && !event.metaKey) {
      if (this.complete(event.shiftKey ? -1 : 1)) event.preventDefault();
    } else if (event.key === "Escape" && this.cycle) {
      this.endCycle();
    } else if ((event.key === "ArrowUp" || event.key === "ArrowDown") && !event.shiftKey) {
      if (this.recall(event.key === "ArrowUp" ? -1 : 1)) event.preventDefault();
    }
  }

  /** Several lines pasted: each is sent, the first after what was already typed. */
  paste(event) {
    const text = event.clipboardData ? event.clipboardData.getData("text/plain") : "";
    if (!/[\r\n]/.test(text)) return;
    event.preventDefault();
    const { selectionStart: from, selectionEnd: to, value } = this.input;
    const whole = value.slice(0, from) + text + value.slice(to);
    const lines = whole.split(/\r\n|\r|\n/).filter((line) => line.trim() !== "");
    this.input.value = "";
    this.endCycle();
    lines.forEach((line) => this.remember(line));
    if (lines.length) this.handlers.onLines(lines);
  }

  /** Tab: complete the word at the caret, or the next candidate; false when there is none. */
  complete(step) {
    if (!this.cycle) {
      const caret = this.input.selectionStart;
      const { start, word } = wordAt(this.input.value, caret);
      if (word === "") return false;
      const first = this.input.value.slice(0, start).trim() === "";
      const options = this.handlers.candidates(word, first);
      if (options.length === 0) return false;
      this.cycle = { start, options, index: step > 0 ? -1 : options.length, suffix: this.input.value.slice(caret) };
    }
    const cycle = this.cycle;
    cycle.index = (cycle.index + step + cycle.options.length) % cycle.options.length;
    const chosen = cycle.options[cycle.index] + " ";
    const head = this.input.value.slice(0, cycle.start) + chosen;
    this.input.value = head + cycle.suffix.replace(/^\s+/, "");
    this.input.setSelectionRange(head.length, head.length);
    this.showOptions();
    return true;
  }

  /** List the candidates under the composer while cycling, the chosen one marked. */
  showOptions() {
    const { options, index } = this.cycle;
    const shown = options.slice(0, 12).map((option, at) => {
      const li = document.createElement("li");
      li.textContent = option;
      if (at === index) li.setAttribute("aria-selected", "true");
      return li;
    });
    if (options.length > 12) {
      const more = document.createElement("li");
      more.textContent = `… ${options.length - 12} more`;
      shown.push(more);
    }
    this.list.replaceChildren(...shown);
    this.list.hidden = options.length < 2;
  }

  endCycle() {
    this.cycle = null;
    this.list.hidden = true;
  }

  remember(line) {
    this.sent.push(line);
    if (this.sent.length > RECALL_LIMIT) this.sent.shift();
    this.recallAt = this.sent.length;
  }

  /** Up/Down: the previous or next line sent (only when the caret is on the first/last line). */
  recall(step) {
    if (this.sent.length === 0) return false;
    if (step < 0 && this.input.value !== "" && this.recallAt === this.sent.length) return false;
    const at = Math.min(Math.max(this.recallAt + step, 0), this.sent.length);
    if (at === this.recallAt) return false;
    this.recallAt = at;
    this.input.value = at === this.sent.length ? "" : this.sent[at];
    const end = this.input.value.length;
    this.input.setSelectionRange(end, end);
    return true;
  }
}
