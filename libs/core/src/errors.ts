import { ERRORS, type ErrorCode } from './error-catalogue';

/** One invalid field in a request, as listed in a VALIDATION_FAILED problem. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/**
 * An error the domain expects and the client can act on. `code` is stable and upper case; it is
 * what clients branch on, never the human-readable `detail`. Its status and title are the code's
 * entry in the catalogue (ERRORS).
 */
export class DomainError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extensions: Readonly<Record<string, unknown>> = {},
    /** Response headers that go with the problem, such as `retry-after`. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
    this.name = 'DomainError';
    const { status, title } = ERRORS[code];
    this.status = status;
    this.title = title;
  }
}

/**
 * Recognises an error some library raises (a database that cannot be reached) and says what the
 * client should see instead of a 500; undefined leaves the error to the next translator.
 */
export type ErrorTranslator = (error: unknown) => DomainError | undefined;

/** The first translation of `error` by `translators`, if any. */
export function translateError(
  error: unknown,
  translators: readonly ErrorTranslator[],
): DomainError | undefined {
  if (error instanceof DomainError) return undefined;
  for (const translate of translators) {
    const translated = translate(error);
    if (translated) return translated;
  }
  return undefined;
}

/** Most entries a VALIDATION_FAILED problem lists; the rest are counted in `errorCount`. */
export const MAX_LISTED_ERRORS = 20;

/**
 * Request validation failed; `errors` lists each field, the first MAX_LISTED_ERRORS of them: with
 * more, `errorsTruncated` is true and `errorCount` says how many there were (a body of 15 KB can
 * hold thousands of unknown keys, each an entry).
 */
export class ValidationFailedError extends DomainError {
  /** The entries listed in the problem. */
  readonly errors: readonly FieldProblem[];

  constructor(errors: readonly FieldProblem[]) {
    const listed = errors.slice(0, MAX_LISTED_ERRORS);
    const more = errors.length - listed.length;
    super(
      'VALIDATION_FAILED',
      listed.map((e) => `${e.field}: ${e.message}`).join('; ') +
        (more > 0 ? `; and ${more} more` : ''),
      more > 0
        ? { errors: listed, errorsTruncated: true, errorCount: errors.length }
        : { errors: listed },
    );
    this.errors = listed;
  }
}
