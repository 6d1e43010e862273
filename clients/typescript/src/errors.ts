/** The client's error hierarchy: one class per error code of the Flipbook server. */

export type ErrorDetails = Record<string, unknown>;

export interface FlipbookErrorOptions {
  code?: string | undefined;
  details?: ErrorDetails | undefined;
  /** The HTTP status (REST) or the gRPC status name (gRPC) the error came with. */
  status?: number | string | undefined;
  cause?: unknown;
}

/** Base of every error the client throws: the server's `code`, `message` and `details`. */
export class FlipbookError extends Error {
  static readonly code: string = "error";
  readonly code: string;
  readonly details: ErrorDetails;
  readonly status: number | string | undefined;

  constructor(message: string, options: FlipbookErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? new.target.code;
    this.details = { ...(options.details ?? {}) };
    this.status = options.status;
  }
}

/** Bad input; `field` names the field at fault when the server named one. */
export class ValidationError extends FlipbookError {
  static override readonly code = "validation_error";
  get field(): string | undefined {
    const field = this.details["field"];
    return typeof field === "string" ? field : undefined;
  }
}

/** The stream, event, snapshot or subscription does not exist. */
export class NotFound extends FlipbookError {
  static override readonly code = "not_found";
}

/** The stream is not at the expected version; `currentVersion` says where it is. */
export class VersionConflict extends FlipbookError {
  static override readonly code = "version_conflict";
  get currentVersion(): number | undefined {
    const version = this.details["current_version"];
    return typeof version === "number" ? version : undefined;
  }
  get streamId(): string | undefined {
    const id = this.details["stream_id"];
    return typeof id === "string" ? id : undefined;
  }
  get expectedVersion(): unknown {
    return this.details["expected_version"];
  }
}

/** An event id is already stored with different content. */
export class IdConflict extends FlipbookError {
  static override readonly code = "id_conflict";
  get eventIds(): string[] {
    const ids = this.details["event_ids"];
    return Array.isArray(ids) ? ids.map(String) : [];
  }
}

/** The name is taken (a subscription, for instance). */
export class AlreadyExists extends FlipbookError {
  static override readonly code = "already_exists";
}

/** A payload, metadata or the whole request is over the server's limit. */
export class TooLarge extends FlipbookError {
  static override readonly code = "too_large";
}

/** No valid API key was sent. */
export class Unauthenticated extends FlipbookError {
  static override readonly code = "unauthenticated";
}

/** The API key does not allow this operation or stream. */
export class PermissionDenied extends FlipbookError {
  static override readonly code = "permission_denied";
}

/** The server or its backend cannot be reached for now; retrying later may succeed. */
export class Unavailable extends FlipbookError {
  static override readonly code = "unavailable";
}

/** The stream's reducer failed on its events. */
export class ReducerError extends FlipbookError {
  static override readonly code = "reducer_error";
}

/** The stream was hard-deleted: its tombstone refuses reads and appends for ever. */
export class StreamDeleted extends FlipbookError {
  static override readonly code = "stream_deleted";
}

/** The server failed unexpectedly (its log has the details). */
export class InternalError extends FlipbookError {
  static override readonly code = "internal_error";
}

/** The operation is not offered by this transport. */
export class Unsupported extends FlipbookError {
  static override readonly code = "unsupported";
}

/** The caller's AbortSignal fired. */
export class Aborted extends FlipbookError {
  static override readonly code = "aborted";
}

const CLASSES = [
  ValidationError,
  NotFound,
  VersionConflict,
  IdConflict,
  AlreadyExists,
  TooLarge,
  Unauthenticated,
  PermissionDenied,
  Unavailable,
  ReducerError,
  StreamDeleted,
  InternalError,
  Unsupported,
  Aborted,
] as const;

export const ERRORS_BY_CODE: ReadonlyMap<string, typeof FlipbookError> = new Map(
  CLASSES.map((cls) => [cls.code, cls] as const),
);

/** When a response carries no Flipbook error body (a proxy's answer). */
export const ERRORS_BY_HTTP_STATUS: ReadonlyMap<number, typeof FlipbookError> = new Map<
  number,
  typeof FlipbookError
>([
  [400, ValidationError],
  [401, Unauthenticated],
  [403, PermissionDenied],
  [404, NotFound],
  [409, VersionConflict],
  [410, StreamDeleted],
  [413, TooLarge],
  [422, ReducerError],
  [500, InternalError],
  [502, Unavailable],
  [503, Unavailable],
  [504, Unavailable],
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The error of a server's error object `{"code", "message", "details"}` (an
 * `{"error": {...}}` wrapper is unwrapped); `fallback` when the body is not one.
 */
export function errorFromBody(
  body: unknown,
  status: number | string | undefined,
  fallback: typeof FlipbookError = FlipbookError,
): FlipbookError {
  let error = body;
  if (isRecord(error) && isRecord(error["error"])) error = error["error"];
  if (!isRecord(error) || typeof error["code"] !== "string") {
    return new fallback(`the server answered ${String(status)} without a Flipbook error`, {
      status,
    });
  }
  const code = error["code"];
  const cls = ERRORS_BY_CODE.get(code) ?? fallback;
  const message = typeof error["message"] === "string" && error["message"] ? error["message"] : code;
  const details = isRecord(error["details"]) ? error["details"] : {};
  return new cls(message, { code, details, status });
}
