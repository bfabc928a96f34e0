import {
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ThrottlerModuleOptions, ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { AuthConfig, ThrottleConfig } from '@app/config';
import { ipTracker, isLoopback, trackerKey } from '@app/throttling';
import { ANONYMOUS_ADMIN, hasRole, type Principal } from './api-key';
import type { ApiKey, ApiKeyRole } from './api-key.entity';
import { apiKeyInvalid, apiKeyMissing, forbidden } from './api-keys.errors';
import { ApiKeysService } from './api-keys.service';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who calls an /api route, set by ApiAuthGuard before the handler runs. */
    principal?: Principal;
  }
}

const API_KEY_HEADER = 'x-api-key';
const ROLES = Symbol('roles');
const MINUTE_MS = 60_000;

/** Limits the route (or controller) to keys of these roles; admin keys pass everywhere. */
export const Roles = (...roles: ApiKeyRole[]) => SetMetadata(ROLES, roles);

/** The caller of an /api route (ApiAuthGuard has run). */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal =>
    context.switchToHttp().getRequest<FastifyRequest>().principal ?? ANONYMOUS_ADMIN,
);

/** Routes under /api need a key (when AUTH_REQUIRED) and count against the API rate limits. */
const isApiRoute = (request: FastifyRequest): boolean =>
  request.routeOptions.url?.startsWith('/api/') ?? false;

type Caller = { readonly kind: 'none' } | { readonly kind: 'invalid' } | ApiKeyCaller;
interface ApiKeyCaller {
  readonly kind: 'key';
  readonly apiKey: ApiKey;
}

/**
 * Who calls: looks the X-Api-Key up once per request, for the rate limiter (which counts per key,
 * else per client IP) and the auth guard alike.
 */
@Injectable()
export class ApiAccess {
  private readonly callers = new WeakMap<FastifyRequest, Promise<Caller>>();

  constructor(
    private readonly keys: ApiKeysService,
    private readonly throttle: ThrottleConfig,
  ) {}

  caller(request: FastifyRequest): Promise<Caller> {
    let caller = this.callers.get(request);
    if (!caller) {
      caller = this.lookUp(request);
      this.callers.set(request, caller);
    }
    return caller;
  }

  /**
   * The rate-limit tracker: the key for a valid key, else the client IP (per TRUSTED_PROXIES; an
   * IPv6 client by its /64).
   */
  async tracker(request: FastifyRequest): Promise<string> {
    const caller = await this.caller(request);
    return caller.kind === 'key' ? `key:${caller.apiKey.id}` : ipTracker(request.ip);
  }

  /** Requests per minute for the caller; 0 (no limit) for loopback clients when they are exempt. */
  async limit(request: FastifyRequest): Promise<number> {
    if (this.throttle.exemptLoopback && isLoopback(request.ip)) return 0;
    const caller = await this.caller(request);
    return caller.kind === 'key' ? this.throttle.apiPerMinute : this.throttle.ipPerMinute;
  }

  private async lookUp(request: FastifyRequest): Promise<Caller> {
    const header = request.headers[API_KEY_HEADER];
    // An empty X-Api-Key is a key that is wrong, not a request without one.
    if (header === undefined) return { kind: 'none' };
    const apiKey = typeof header === 'string' ? await this.keys.authenticate(header) : null;
    return apiKey ? { kind: 'key', apiKey } : { kind: 'invalid' };
  }
}

/**
 * The API's rate limit, for @nestjs/throttler (RateLimitGuard): one throttler, `api`, 60 s windows
 * in `storage`; per key, else per client IP, with the caller's limit (ApiAccess). Routes outside
 * /api pass untouched. The tracker is the whole key, whatever the route: one budget across the API.
 */
export function apiThrottling(
  access: ApiAccess,
  storage: ThrottlerStorage,
): ThrottlerModuleOptions {
  const requestOf = (context: ExecutionContext): FastifyRequest =>
    context.switchToHttp().getRequest<FastifyRequest>();
  return {
    storage,
    throttlers: [
      { name: 'api', ttl: MINUTE_MS, limit: (context) => access.limit(requestOf(context)) },
    ],
    skipIf: (context) => context.getType() !== 'http' || !isApiRoute(requestOf(context)),
    getTracker: (request) => access.tracker(request as FastifyRequest),
    generateKey: trackerKey,
  };
}

/**
 * Guards every /api route: 401 API_KEY_INVALID for a bad key, 401 API_KEY_MISSING without one
 * when AUTH_REQUIRED (otherwise the caller acts as admin), 403 FORBIDDEN for a role the route does
 * not allow. Other routes (redirects, health, metrics, docs) pass untouched.
 */
@Injectable()
export class ApiAuthGuard implements CanActivate {
  constructor(
    private readonly access: ApiAccess,
    private readonly auth: AuthConfig,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!isApiRoute(request)) return true;
    const caller = await this.access.caller(request);
    if (caller.kind === 'invalid') throw apiKeyInvalid();
    if (caller.kind === 'none' && this.auth.required) throw apiKeyMissing();
    const principal: Principal =
      caller.kind === 'key'
        ? { keyId: caller.apiKey.id, role: caller.apiKey.role }
        : ANONYMOUS_ADMIN;
    const roles = this.reflector.getAllAndOverride<ApiKeyRole[] | undefined>(ROLES, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (roles && !hasRole(principal, roles)) throw forbidden();
    request.principal = principal;
    return true;
  }
}
