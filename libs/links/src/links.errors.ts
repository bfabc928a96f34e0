import { DomainError } from '@app/core';

export const linkNotFound = (code: string): DomainError =>
  new DomainError(404, 'LINK_NOT_FOUND', 'Link not found', `No link has the code "${code}".`);

export const linkGone = (code: string, reason: 'disabled' | 'expired'): DomainError =>
  new DomainError(
    410,
    'LINK_GONE',
    'Link no longer available',
    `The link "${code}" is ${reason}.`,
    {
      reason,
    },
  );

export const urlNotAllowed = (detail: string): DomainError =>
  new DomainError(400, 'URL_NOT_ALLOWED', 'URL not allowed', detail);

export const urlBlocked = (domain: string): DomainError =>
  new DomainError(
    400,
    'URL_BLOCKED',
    'URL blocked',
    `Links to ${domain} and its subdomains are blocked on this shortener.`,
    { domain },
  );

export const aliasTaken = (alias: string): DomainError =>
  new DomainError(409, 'ALIAS_TAKEN', 'Alias taken', `The alias "${alias}" is already in use.`);

export const aliasReserved = (alias: string): DomainError =>
  new DomainError(
    400,
    'ALIAS_RESERVED',
    'Alias reserved',
    `The alias "${alias}" is reserved for snip's own routes; choose another.`,
  );

export const invalidCursor = (): DomainError =>
  new DomainError(400, 'INVALID_CURSOR', 'Invalid cursor', 'The cursor is not one snip issued.');

export const codeSpaceExhausted = (): DomainError =>
  new DomainError(
    503,
    'CODE_SPACE_EXHAUSTED',
    'No short codes left',
    'Every code of the configured length is in use; raise SHORT_CODE_LENGTH.',
  );
