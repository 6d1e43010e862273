/** Times on the wire: RFC 3339 text (REST) and {seconds, nanos} (gRPC), both normalised to
 * one text form, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds as the store keeps them). */

import { ValidationError } from "./errors.js";

/** A time a caller gives: RFC 3339 text or a Date. */
export type TimeInput = string | Date;

export interface Instant {
  seconds: number;
  nanos: number;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parse RFC 3339 text or a Date into seconds since the epoch and nanoseconds. */
export function toInstant(value: TimeInput, field = "time"): Instant {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new ValidationError(`${field} is an invalid Date`, { details: { field } });
    const seconds = Math.floor(ms / 1000);
    return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
  }
  const match = RFC3339.exec(value);
  if (match === null) {
    throw new ValidationError(`${field} must be RFC 3339 text like 2024-03-02T09:00:00Z, not ${JSON.stringify(value)}`, {
      details: { field },
    });
  }
  const [, year, month, day, hour, minute, second, fraction, zone] = match as unknown as string[];
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  }
  const utcMs = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  const seconds = utcMs / 1000 - offsetMinutes * 60;
  const nanos = fraction ? Number(fraction.padEnd(9, "0")) : 0;
  return { seconds, nanos };
}

/** The canonical text of an instant, microseconds kept (below that dropped, as the store does). */
export function formatInstant(instant: Instant): string {
  const date = new Date(instant.seconds * 1000);
  const micros = Math.floor(instant.nanos / 1000);
  return `${date.toISOString().slice(0, 19)}.${String(micros).padStart(6, "0")}Z`;
}

/** The canonical text of a time the server sent (any RFC 3339 offset), or null. */
export function normalizeTime(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return formatInstant(toInstant(value));
}

/** The canonical text of a time a caller gave. */
export function timeText(value: TimeInput, field = "time"): string {
  return formatInstant(toInstant(value, field));
}
