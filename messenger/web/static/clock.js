/**
 * Timestamps as the terminal client shows them (messenger/ui/render.py local_time): `HH:MM` in
 * the reader's local time, with the date in front (`Nov 24 21:50`) when it is not today.
 */

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Two digits, as strftime's %H, %M and %d write them. */
function pad(number) {
  return String(number).padStart(2, "0");
}

/**
 * The local time of a frame's ISO 8601 `ts`, dated when not today; now when it has none or an
 * unreadable one (as render.py does), so a bad `ts` never breaks a line.
 * @param {string | undefined} ts
 * @param {Date} [now]
 * @returns {string}
 */
export function localTime(ts, now = new Date()) {
  let moment = ts ? new Date(ts) : null;
  if (moment === null || Number.isNaN(moment.getTime())) moment = now;
  const time = `${pad(moment.getHours())}:${pad(moment.getMinutes())}`;
  const today =
    moment.getFullYear() === now.getFullYear() &&
    moment.getMonth() === now.getMonth() &&
    moment.getDate() === now.getDate();
  return today ? time : `${MONTHS[moment.getMonth()]} ${pad(moment.getDate())} ${time}`;
}

/** The full local date and time, for a tooltip. */
export function fullTime(ts) {
  const moment = ts ? new Date(ts) : null;
  return moment && !Number.isNaN(moment.getTime()) ? moment.toLocaleString() : "";
}
