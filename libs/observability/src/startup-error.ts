/**
 * A start-up failure the operator can act on from its message alone (a port in use, a data
 * directory held by another process): logged as one line, without a stack trace, and exit 1.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
