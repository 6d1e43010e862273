/** Retries with exponential backoff and full jitter, and sleeps that an AbortSignal ends. */

import { Aborted, Unavailable } from "./errors.js";

export interface RetryOptions {
  /** Tries in all, the first included (default 4; 1 turns retries off). */
  attempts?: number;
  /** The first backoff in milliseconds, doubled per try (default 100). */
  baseDelayMs?: number;
  /** The longest backoff in milliseconds (default 2000). */
  maxDelayMs?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = { attempts: 4, baseDelayMs: 100, maxDelayMs: 2000 };

/** The delay before try number `attempt` (1 = the first retry), with full jitter. */
export function backoffDelay(attempt: number, options: Required<RetryOptions>): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new Aborted("the call was aborted", { cause: signal.reason });
  }
}

/** Resolve after `ms`, or reject with Aborted as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new Aborted("the call was aborted", { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Aborted("the call was aborted", { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Run `call`; when it throws Unavailable and `idempotent` is true, try again after a backoff,
 * up to `options.attempts` tries in all. Any other error, or an abort, ends it at once.
 */
export async function withRetries<T>(
  call: () => Promise<T>,
  idempotent: boolean,
  options: Required<RetryOptions>,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(signal);
    try {
      return await call();
    } catch (error) {
      if (!idempotent || !(error instanceof Unavailable) || attempt >= options.attempts) throw error;
      await sleep(backoffDelay(attempt, options), signal);
    }
  }
}
