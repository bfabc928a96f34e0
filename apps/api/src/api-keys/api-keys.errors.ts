import { DomainError } from '@app/core';

export const apiKeyMissing = (): DomainError =>
  new DomainError('API_KEY_MISSING', 'Send an API key in the X-Api-Key header.');

export const apiKeyInvalid = (): DomainError =>
  new DomainError('API_KEY_INVALID', 'The X-Api-Key is unknown, revoked or expired.');

export const forbidden = (): DomainError =>
  new DomainError('FORBIDDEN', 'This API key’s role may not use this route.');

export const apiKeyNotFound = (id: string): DomainError =>
  new DomainError('API_KEY_NOT_FOUND', `No API key has the id "${id}".`);
