/**
 * The WebSocket to the chat: one JSON frame per text message both ways, a keep-alive ping after
 * 25 s of silence, and reconnecting with backoff (1 s doubling to 30 s, ±20 % jitter, as the
 * terminal client's Backoff plus jitter so a restarted server is not hit by everyone at once).
 * It knows nothing of the chat: the app decides what to send when the socket opens.
 */

const KEEPALIVE_MS = 25_000;
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_LONGEST_MS = 30_000;
const JITTER = 0.2;

/** The chat's address, from the page's own (WSS when the page came over HTTPS). */
export function socketUrl(place = window.location) {
  return (place.protocol === "https:" ? "wss://" : "ws://") + place.host + "/ws";
}

export class Link {
  /**
   * @param {{onOpen: () => void, onFrame: (frame: object) => void,
   *          onClose: (willRetry: boolean, delayMs: number) => void}} handlers
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.socket = null;
    this.retry = false; // reconnect when the socket closes (set once logged in)
    this.nextDelay = BACKOFF_FIRST_MS;
    this.retryTimer = null;
    this.keepaliveTimer = null;
    this.pings = 0;
    window.addEventListener("online", () => this.retryNow());
  }

  /** Whether frames can be sent now. */
  get open() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  /** Open a socket (if none is open or opening). */
  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.socket !== null) return;
    const socket = new WebSocket(socketUrl());
    this.socket = socket;
    socket.addEventListener("open", () => this.handlers.onOpen());
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", () => this.closed(socket));
    this.quietAgain();
  }

  /** Send one frame; false when there is no open socket (the caller shows it offline). */
  send(frame) {
    if (!this.open) return false;
    this.socket.send(JSON.stringify(frame));
    this.quietAgain();
    return true;
  }

  /** A successful login: reconnect from now on, starting again from the shortest delay. */
  loggedIn() {
    this.retry = true;
    this.nextDelay = BACKOFF_FIRST_MS;
  }

  /** Stop for good (kicked, banned, replaced, logged out): close and never reconnect. */
  stop() {
    this.retry = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.keepaliveTimer);
    if (this.socket !== null) this.socket.close();
  }

  /** Try at once (the browser says the network is back, or the person asked). */
  retryNow() {
    if (this.retry && this.socket === null) this.connect();
  }

  receive(data) {
    this.quietAgain();
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return; // the server sends strict JSON; anything else is not ours to show
    }
    if (frame !== null && typeof frame === "object" && typeof frame.type === "string") {
      this.handlers.onFrame(frame);
    }
  }

  closed(socket) {
    if (socket !== this.socket) return;
    this.socket = null;
    clearTimeout(this.keepaliveTimer);
    const delay = this.retry ? this.backoff() : 0;
    if (this.retry) this.retryTimer = setTimeout(() => this.connect(), delay);
    this.handlers.onClose(this.retry, delay);
  }

  /** The next delay with ±20 % jitter; the base doubles up to 30 s. */
  backoff() {
    const base = this.nextDelay;
    this.nextDelay = Math.min(base * 2, BACKOFF_LONGEST_MS);
    return Math.round(base * (1 - JITTER + Math.random() * 2 * JITTER));
  }

  /** Restart the keep-alive clock: a ping goes out after 25 s without traffic. */
  quietAgain() {
    clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = setTimeout(() => {
      this.pings += 1;
      this.send({ type: "ping", token: `keepalive-${this.pings}` });
    }, KEEPALIVE_MS);
  }
}

/** Whether a pong answers our own keep-alive (not a /ping someone typed). */
export function isKeepalive(frame) {
  return typeof frame.token === "string" && frame.token.startsWith("keepalive-");
}
