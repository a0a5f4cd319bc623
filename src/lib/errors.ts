/**
 * Typed application errors. Each carries a stable `code` that the HTTP layer maps to
 * problem+json and the CLI maps to an exit message; `detail` is safe to show a user,
 * `cause` is for logs only.
 */
export type ErrorCode =
  | 'not-found'
  | 'conflict'
  | 'invalid-input'
  | 'payload-too-large'
  | 'overloaded'
  | 'upstream-unavailable'
  | 'model-error';

export interface FieldIssue {
  /** JSON pointer (RFC 6901) to the offending field, e.g. `/input/3`. */
  pointer: string;
  detail: string;
}

export interface AppErrorOptions {
  cause?: unknown;
  extensions?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly extensions: Record<string, unknown>;

  constructor(code: ErrorCode, detail: string, options: AppErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.detail = detail;
    this.extensions = options.extensions ?? {};
  }
}

export class NotFoundError extends AppError {
  constructor(kind: string, id: string, options: AppErrorOptions = {}) {
    super('not-found', `${kind} ${id} not found`, options);
  }
}

export class ConflictError extends AppError {
  constructor(detail: string, options: AppErrorOptions = {}) {
    super('conflict', detail, options);
  }
}

export class InvalidInputError extends AppError {
  readonly issues: FieldIssue[];

  constructor(detail: string, issues: FieldIssue[] = [], options: AppErrorOptions = {}) {
    super('invalid-input', detail, options);
    this.issues = issues;
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(detail: string, options: AppErrorOptions = {}) {
    super('payload-too-large', detail, options);
  }
}

export class OverloadedError extends AppError {
  readonly retryAfterS: number;

  constructor(detail: string, retryAfterS: number, options: AppErrorOptions = {}) {
    super('overloaded', detail, options);
    this.retryAfterS = retryAfterS;
  }
}

export class UpstreamUnavailableError extends AppError {
  constructor(detail: string, options: AppErrorOptions = {}) {
    super('upstream-unavailable', detail, options);
  }
}

/**
 * A model that cannot be resolved, read or converted: a missing or corrupt file, an
 * unsupported architecture, a hub refusal. `detail` always says what the user can do.
 */
export class ModelError extends AppError {
  constructor(detail: string, options: AppErrorOptions = {}) {
    super('model-error', detail, options);
  }
}
