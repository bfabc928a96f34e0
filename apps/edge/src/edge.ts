import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, register } from 'prom-client';
import { CacheFactory, type TwoTierCache } from '@app/caching';
import { brokerTransport, ClickRecording } from '@app/clicks';
import { thenMaybe, withTimeout } from '@app/core';
import { HttpFront, requestIdOf } from '@app/http';
import {
  AliasPolicy,
  LINK_CACHE,
  linkCacheCodec,
  RedisVisitCounter,
  resolution,
  type RedirectTarget,
} from '@app/links';
import { counter, type Logger } from '@app/observability';
import { codeEnd, REDIRECT_ROUTE, RedirectHandler, serveRedirect, Unresolved } from '@app/redirect';
import { closeRedis, createRedis, redisHealth, redisReady, watchRedis } from '@app/redis';
import { hit, RedisThrottlerStorage } from '@app/throttling';
import type { EdgeAppConfig } from './config';
import { Upstream, type ForwardReason } from './upstream';

export interface RunningEdge {
  /** Where the edge listens, such as http://127.0.0.1:3002. */
  readonly url: string;
  /** Readiness 503, drain the connections, send the buffered clicks, close Redis and the pool. */
  close(): Promise<void>;
}

const LIVE = '/health/live';
const READY = '/health/ready';
const METRICS = '/metrics';
/** The route label of everything forwarded (bounded: never the path). */
const UPSTREAM_ROUTE = 'upstream';

/**
 * Starts the edge: a plain node:http server that answers `GET|HEAD /<code>` from the link cache
 * (L1 in process, L2 in Redis, both as the api fills them) with the api's RedirectHandler, and
 * sends everything else, a code the caches lack included, to the api (EDGE_UPSTREAM_URL). It never
 * opens the database. See docs/operations.md "Edge redirector" and decision 44.
 */
export async function startEdge(config: EdgeAppConfig, logger: Logger): Promise<RunningEdge> {
  // One dashboard for both: the same series as the api's, told apart by `service`.
  register.setDefaultLabels({ service: 'edge' });
  collectDefaultMetrics();
  const redirectsForwarded = counter({
    name: 'snip_edge_redis_down_total',
    help: 'Redirect requests the edge forwarded because Redis was unreachable',
  });

  const redis = createRedis(config.redis);
  watchRedis(redis, {
    name: 'shared',
    logger,
    probeIntervalMs: config.redis.probeIntervalMs,
  });
  const redisUp = (): boolean => redis.status === 'ready' && (redisHealth(redis)?.up ?? true);
  const caches = new CacheFactory(config.cache, config.redis, logger, redis);
  const links = caches.create(LINK_CACHE, linkCacheCodec);
  // A code in neither tier is the api's to look up: the edge never reads the database.
  const miss = (code: string): Promise<null> => Promise.reject(new Unresolved(code));
  // A counter missing from Redis is seeded from the database: the api's to do.
  const visits = new RedisVisitCounter(redis, config.redis.keyPrefix, (linkId) =>
    Promise.reject(new Unresolved(linkId)),
  );
  const limits = new RedisThrottlerStorage(redis, config.redis.keyPrefix);
  const clicks = new ClickRecording(
    brokerTransport(config.clicks, config.redis, logger),
    config.clickPublisher,
    logger,
  );
  const redirects = new RedirectHandler({
    resolve: (code, now) => thenMaybe(links.get(code, miss), (link) => resolution(link, now)),
    reserve: async (linkId, maxClicks) => {
      const reservation = await visits.reserve(linkId, maxClicks);
      // Redis away: the api answers (and, as the one that can tell, refuses the visit).
      if (reservation === 'unavailable') throw new Unresolved(linkId);
      return reservation;
    },
    record: (link, visitor, now) => clicks.record(link, visitor, now),
    translate: () => undefined,
    logger,
    forwardQuery: config.links.forwardQuery,
    permanentRedirectMaxAge: config.links.permanentRedirectMaxAge,
    // The api's per-IP redirect limit, on the same counters in Redis: one limit for both. Counted
    // after the look-up, so that a request forwarded to the api is counted there only.
    limit: {
      afterLookup: true,
      perMinute: config.throttle.redirectPerMinute,
      exemptLoopback: config.throttle.exemptLoopback,
      hit: (tracker, limit, windowMs) => hit(limits, 'redirect', tracker, limit, windowMs),
    },
  });
  const upstream = new Upstream({
    url: config.edge.upstreamUrl,
    connectTimeoutMs: config.edge.upstreamConnectTimeoutMs,
    timeoutMs: config.edge.upstreamTimeoutMs,
    maxSockets: config.edge.upstreamMaxSockets,
    logger,
  });

  const front = new HttpFront({
    logger,
    quietRoutes: [LIVE, READY, METRICS],
    accessLogSampleRates: { [REDIRECT_ROUTE]: 0 },
    trustedProxies: config.throttle.trustedProxies,
    bodyLimitBytes: config.app.bodyLimitBytes,
    readinessRoute: READY,
  });

  const forward = (
    request: IncomingMessage,
    response: ServerResponse,
    reason: ForwardReason,
    requestId = requestIdOf(request),
  ): void => {
    const started = performance.now();
    void upstream
      .forward(request, response, { peer: request.socket.remoteAddress, requestId }, reason)
      .then((status) =>
        front.observe(
          request.method ?? 'GET',
          reason === 'route' ? UPSTREAM_ROUTE : REDIRECT_ROUTE,
          status,
          request.url ?? '/',
          requestId,
          performance.now() - started,
        ),
      );
  };

  const own = (request: IncomingMessage, response: ServerResponse, path: string): void => {
    const requestId = requestIdOf(request);
    const answer = (status: number, type: string, body: string): void => {
      response.writeHead(status, {
        'content-type': type,
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
        'x-request-id': requestId,
      });
      response.end(request.method === 'HEAD' ? undefined : body);
      front.observe(request.method ?? 'GET', path, status, path, requestId, 0);
    };
    const json = 'application/json; charset=utf-8';
    if (path === LIVE) return answer(200, json, JSON.stringify({ status: 'ok' }));
    if (path === METRICS) {
      void register.metrics().then((text) => answer(200, register.contentType, text));
      return;
    }
    // Ready while it can answer something: hits from Redis, or everything through the api.
    const up = redisUp();
    void (up ? Promise.resolve(true) : upstream.reachable()).then((reachable) => {
      const status = up || reachable ? 200 : 503;
      const body = { status: status === 200 ? 'ok' : 'unavailable', redis: up ? 'up' : 'down' };
      answer(status, json, JSON.stringify(body));
    });
  };

  const reserved = new AliasPolicy(config.links.reservedAliases);
  front.use((request, response) => {
    const { method, url } = request;
    if (url === undefined) return false;
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    if (path === LIVE || path === READY || path === METRICS) {
      if (method !== 'GET' && method !== 'HEAD') return false;
      own(request, response, path);
      return true;
    }
    if (method !== 'GET' && method !== 'HEAD') return false;
    const end = codeEnd(url);
    if (end < 0 || url.length > config.app.maxUrlLength) return false;
    // The api's own routes (/docs, /docs-json, /health...) are never codes: forwarded as routes,
    // without a cache read or a count against the redirect limit.
    if (reserved.isReserved(url.slice(1, end))) return false;
    const requestId = requestIdOf(request);
    if (!redisUp()) {
      // Neither L1 (its evictions travel through Redis) nor visit counters can be trusted.
      redirectsForwarded.inc();
      forward(request, response, 'redis_down', requestId);
      return true;
    }
    serveRedirect(redirects, front, request, response, requestId, () =>
      forward(request, response, 'miss', requestId),
    );
    return true;
  });

  const headersTimeout = config.app.headersTimeoutMs;
  const requestTimeout = config.app.requestTimeoutMs;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout,
      connectionsCheckingInterval: Math.min(
        1000,
        Math.max(100, Math.floor(Math.min(headersTimeout, requestTimeout) / 4)),
      ),
    },
    front.listener((request, response) => forward(request, response, 'route')),
  );
  server.keepAliveTimeout = config.app.keepAliveTimeoutMs;
  front.serve(server);

  const release = async (): Promise<void> => {
    await caches.onApplicationShutdown();
    await closeRedis(redis);
    upstream.close();
  };
  try {
    await caches.onModuleInit();
    // Serving before Redis is connected would forward every hit as a miss: wait for it, bounded.
    if (!(await redisReady(redis, config.redis.connectTimeoutMs))) {
      logger.warn(
        { waitedMs: config.redis.connectTimeoutMs },
        'Redis not ready at start; forwarding to the api until it is',
      );
    }
    await warmOnBoot(links, config.cache, logger);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: config.edge.port, host: config.app.host }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await clicks.close(0).catch(() => undefined);
    await release();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    async close() {
      // What is left of SHUTDOWN_GRACE_MS after the drain, less a second to close the rest.
      const deadline = performance.now() + config.app.shutdownGraceMs - 1000;
      await front.drain(config.app.shutdownDrainDelayMs);
      await clicks.close(Math.max(0, deadline - performance.now()));
      await release();
    },
  };
}

/**
 * CACHE_WARM_ON_BOOT_TOP on the edge: before it listens, its L1 takes the first N codes of the hot
 * set the last top-N warm-up recorded in Redis (the edge has no database to rank them). Bounded by
 * CACHE_WARM_ON_BOOT_TIMEOUT_MS; a failure or time-out starts it with what it loaded.
 */
async function warmOnBoot(
  links: TwoTierCache<RedirectTarget>,
  cache: EdgeAppConfig['cache'],
  logger: Logger,
): Promise<void> {
  const top = cache.warmOnBootTop;
  if (top === 0) return;
  const started = performance.now();
  try {
    const loaded = await withTimeout(links.warmLocalFromHot(top), cache.warmOnBootTimeoutMs);
    const durationMs = Math.round(performance.now() - started);
    logger.info({ top, loaded, durationMs }, 'cache warmed on boot');
  } catch (error) {
    logger.warn(
      { err: error, top, timeoutMs: cache.warmOnBootTimeoutMs },
      'boot cache warm-up cut short: starting with what it loaded',
    );
  }
}
