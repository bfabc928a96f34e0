import { DomainError } from '@app/core';

export const linkNotFound = (code: string): DomainError =>
  new DomainError('LINK_NOT_FOUND', `No link has the code "${code}".`);

export const linkGone = (code: string, reason: 'disabled' | 'expired'): DomainError =>
  new DomainError('LINK_GONE', `The link "${code}" is ${reason}.`, { reason });

export const linkExhausted = (code: string, maxClicks: number): DomainError =>
  new DomainError('LINK_EXHAUSTED', `The link "${code}" has answered its ${maxClicks} redirects.`, {
    maxClicks,
  });

/** Seconds a client waits before asking again for a capped link while Redis is away. */
const VISIT_LIMIT_RETRY_AFTER_SECONDS = 5;

export const visitLimitUnavailable = (code: string): DomainError =>
  new DomainError(
    'VISIT_LIMIT_UNAVAILABLE',
    `The visits of "${code}" cannot be counted just now; try again shortly.`,
    {},
    { 'retry-after': String(VISIT_LIMIT_RETRY_AFTER_SECONDS) },
  );

/** Seconds before a warm-up is worth trying again while Redis is away. */
const CACHE_RETRY_AFTER_SECONDS = 5;

export const cacheUnavailable = (): DomainError =>
  new DomainError(
    'SERVICE_UNAVAILABLE',
    'The shared cache (Redis) cannot be reached: nothing to warm just now; try again shortly.',
    {},
    { 'retry-after': String(CACHE_RETRY_AFTER_SECONDS) },
  );

export const urlNotAllowed = (detail: string): DomainError =>
  new DomainError('URL_NOT_ALLOWED', detail);

export const urlBlocked = (domain: string): DomainError =>
  new DomainError(
    'URL_BLOCKED',
    `Links to ${domain} and its subdomains are blocked on this shortener.`,
    { domain },
  );

export const aliasTaken = (alias: string): DomainError =>
  new DomainError('ALIAS_TAKEN', `The alias "${alias}" is already in use.`);

export const aliasReserved = (alias: string): DomainError =>
  new DomainError(
    'ALIAS_RESERVED',
    `The alias "${alias}" is reserved for snip's own routes; choose another.`,
  );

export const invalidCursor = (): DomainError =>
  new DomainError('INVALID_CURSOR', 'The cursor is not one snip issued.');

export const codeSpaceExhausted = (): DomainError =>
  new DomainError(
    'CODE_SPACE_EXHAUSTED',
    'Every code of the configured length is in use; raise SHORT_CODE_LENGTH.',
  );
