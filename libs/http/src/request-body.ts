import type { IncomingMessage } from 'node:http';

/** Most bytes of a refused body read and dropped before answering; beyond, the connection closes. */
const DISCARD_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Reads and drops what is left of `request`'s body, up to `maxBytes`. Resolves true once the body
 * has ended within the bound, false when it is longer or the request was aborted; then the answer
 * must close the connection.
 *
 * Answering a request before its body is read and closing the connection makes the client's
 * kernel reset it while the client still sends: the client sees EPIPE or ECONNRESET instead of the
 * answer. Reading the rest first lets it see the answer (RFC 9112, section 9.6).
 */
export function discardBody(
  request: IncomingMessage,
  maxBytes = DISCARD_LIMIT_BYTES,
): Promise<boolean> {
  if (request.complete) return Promise.resolve(true);
  return new Promise((done) => {
    let read = 0;
    const finish = (ended: boolean): void => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('close', onClose);
      request.off('error', onClose);
      done(ended);
    };
    const onData = (chunk: Buffer): void => {
      read += chunk.length;
      if (read > maxBytes) finish(false);
    };
    const onEnd = (): void => finish(true);
    const onClose = (): void => finish(request.complete);
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('close', onClose);
    request.on('error', onClose);
    request.resume();
  });
}
