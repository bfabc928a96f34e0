import { DomainError } from '@app/core';

export const apiKeyMissing = (): DomainError =>
  new DomainError(
    401,
    'API_KEY_MISSING',
    'API key missing',
    'Send an API key in the X-Api-Key header.',
  );

export const apiKeyInvalid = (): DomainError =>
  new DomainError(
    401,
    'API_KEY_INVALID',
    'API key invalid',
    'The X-Api-Key is unknown, revoked or expired.',
  );

export const forbidden = (): DomainError =>
  new DomainError(403, 'FORBIDDEN', 'Forbidden', 'This API key’s role may not use this route.');

export const apiKeyNotFound = (id: string): DomainError =>
  new DomainError(404, 'API_KEY_NOT_FOUND', 'API key not found', `No API key has the id "${id}".`);
