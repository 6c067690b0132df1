/**
 * Environment → typed, validated configuration. This is the only module that reads
 * `process.env` (an eslint rule keeps it that way), so every public setting is listed here
 * and in the README's configuration table.
 *
 * Validation collects every problem before failing, so an operator fixes a broken deployment
 * in one pass instead of one restart per variable. Messages name the variable, quote what
 * arrived (never for secrets) and say what would be accepted.
 */

import { redactUrl } from './store/url.js';

/** Credentials of one upstream. Never logged, never returned (see src/logger.ts). */
export interface ChillrConfig {
  /** Base URL of the Chillr API, or `undefined` for the in-process sandbox simulator. */
  baseUrl: string | undefined;
  apiKey: string;
  apiSecretKey: string;
  /** Largest batch the client accepts before calling upstream. @default 1000 */
  maxBatchSize: number;
  /** How often `collectBatchUpdated` polls a batch. @default 5000 */
  pollIntervalMs: number;
  /** Port of the in-process simulator when `baseUrl` is unset (0 = any free port). @default 4001 */
  sandboxPort: number;
}

export interface PbgConfig {
  /** Base URL of PayByGroup, or `undefined` for the in-process sandbox simulator. */
  baseUrl: string | undefined;
  apiKey: string;
  merchantId: string;
  /** 32 printable ASCII characters; PBG sends it on every callback and we send it on actions. */
  merchantAuth: string;
  /** When set, inbound PBG callbacks from other addresses are refused. */
  allowedIps: string[] | undefined;
  /** Port of the in-process simulator when `baseUrl` is unset (0 = any free port). @default 4002 */
  sandboxPort: number;
  /**
   * How long a known purchase state (read or pushed) is served without asking PBG; change
   * pushes refresh it. 0 = always ask.
   * @default 30000
   */
  cacheTtlMs: number;
  /**
   * How long the purchase change log keeps a change (cursors older than that are refused).
   * @default 604800000 (7 days)
   */
  changeLogTtlMs: number;
  /**
   * How often one instance compares the purchases it knows in a non-final state with PayByGroup,
   * to find changes no push announced. 0 = never.
   * @default 60000
   */
  reconcileIntervalMs: number;
  /**
   * Base URL PBG uses to reach this service (the sandbox simulator calls it back there).
   * @default `http://127.0.0.1:<the port actually bound>`
   */
  publicBaseUrl: string | undefined;
}

export interface Config {
  /** @default 4000 */
  port: number;
  /** @default '0.0.0.0' */
  host: string;
  nodeEnv: 'development' | 'production' | 'test';
  /** @default 'info' */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `memory://`, `sqlite:<path>` or `redis://…`. @default 'sqlite:data/payments.db' */
  storeUrl: string;
  /** Moves pub/sub to Redis so subscriptions work across instances. @default undefined */
  redisUrl: string | undefined;
  /** Per-attempt timeout of every upstream call. @default 10000 */
  upstreamTimeoutMs: number;
  /** Express `trust proxy` setting, for the client address behind a load balancer. @default false */
  trustProxy: boolean | number | string;
  /** graphql-ws: server ping interval, so idle proxies keep the socket open. @default 12000 */
  wsKeepAliveMs: number;
  /** graphql-ws: how long a client may take to send connection_init. @default 5000 */
  wsInitTimeoutMs: number;
  chillr: ChillrConfig;
  pbg: PbgConfig;
}

/** The credentials the sandbox simulators accept when none are configured. Not secrets. */
export const SANDBOX_DEFAULTS = {
  chillrApiKey: '5695d71a6368690df2030000',
  chillrApiSecretKey: 'f333884a36ccfc54787e6d96eac5e3d3',
  pbgApiKey: 'sandbox-pbg-api-key',
  pbgMerchantId: 'ABC',
  pbgMerchantAuth: 'sandbox-merchant-auth-0123456789',
} as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads and validates configuration; throws {@link ConfigError} listing every problem. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = new Reader(env, problems);

  const nodeEnv = read.oneOf('NODE_ENV', ['development', 'production', 'test'], 'development');
  const port = read.int('PORT', 4000, 0, 65535);
  const chillrBaseUrl = read.url('CHILLR_BASE_URL');
  const pbgBaseUrl = read.url('PBG_BASE_URL');

  const config: Config = {
    port,
    host: read.string('HOST') ?? '0.0.0.0',
    nodeEnv,
    logLevel: read.oneOf(
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'info',
    ),
    storeUrl: read.storeUrl('STORE_URL', 'sqlite:data/payments.db'),
    redisUrl: read.redisUrl('REDIS_URL'),
    upstreamTimeoutMs: read.int('UPSTREAM_TIMEOUT_MS', 10_000, 1, 300_000),
    trustProxy: read.trustProxy('TRUST_PROXY'),
    wsKeepAliveMs: read.int('WS_KEEPALIVE_MS', 12_000, 0, 600_000),
    wsInitTimeoutMs: read.int('WS_INIT_TIMEOUT_MS', 5_000, 100, 600_000),
    chillr: {
      baseUrl: chillrBaseUrl,
      apiKey: read.secret('CHILLR_API_KEY', chillrBaseUrl, SANDBOX_DEFAULTS.chillrApiKey),
      apiSecretKey: read.secret(
        'CHILLR_API_SECRET_KEY',
        chillrBaseUrl,
        SANDBOX_DEFAULTS.chillrApiSecretKey,
      ),
      maxBatchSize: read.int('CHILLR_MAX_BATCH_SIZE', 1000, 1, 100_000),
      pollIntervalMs: read.int('CHILLR_POLL_INTERVAL_MS', 5000, 10, 3_600_000),
      sandboxPort: read.int('CHILLR_SANDBOX_PORT', 4001, 0, 65535),
    },
    pbg: {
      baseUrl: pbgBaseUrl,
      apiKey: read.secret('PBG_API_KEY', pbgBaseUrl, SANDBOX_DEFAULTS.pbgApiKey),
      merchantId: read.secret('PBG_MERCHANT_ID', pbgBaseUrl, SANDBOX_DEFAULTS.pbgMerchantId),
      merchantAuth: read.merchantAuth('PBG_MERCHANT_AUTH', pbgBaseUrl),
      allowedIps: read.list('PBG_ALLOWED_IPS'),
      sandboxPort: read.int('PBG_SANDBOX_PORT', 4002, 0, 65535),
      cacheTtlMs: read.int('PBG_CACHE_TTL_MS', 30_000, 0, 86_400_000),
      changeLogTtlMs: read.int('PBG_CHANGE_LOG_TTL_MS', 7 * 86_400_000, 60_000, 366 * 86_400_000),
      reconcileIntervalMs: read.int('PBG_RECONCILE_INTERVAL_MS', 60_000, 0, 86_400_000),
      publicBaseUrl: read.url('PUBLIC_BASE_URL'),
    },
  };

  if (nodeEnv === 'production' && (!chillrBaseUrl || !pbgBaseUrl)) {
    problems.push(
      'NODE_ENV=production needs CHILLR_BASE_URL and PBG_BASE_URL: the in-process sandbox ' +
        'simulators are for development only. Set both upstream URLs, or use NODE_ENV=development.',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Small typed readers; each records a problem instead of throwing so all are reported. */
class Reader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  string(name: string): string | undefined {
    const raw = this.env[name];
    if (raw === undefined) return undefined;
    const value = raw.trim();
    return value === '' ? undefined : value;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      this.problems.push(
        `${name} must be a whole number from ${min} to ${max}; got ${JSON.stringify(raw)}. ` +
          `Unset it for the default ${fallback}.`,
      );
      return fallback;
    }
    return Number(raw);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(
        `${name} must be one of ${allowed.join(', ')}; got ${JSON.stringify(raw)}.`,
      );
      return fallback;
    }
    return raw as T;
  }

  url(name: string): string | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    try {
      const url = new URL(raw);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
      if (url.username || url.password) {
        this.problems.push(`${name} must not carry credentials; configure them separately.`);
        return undefined;
      }
      return raw.replace(/\/+$/, '');
    } catch {
      this.problems.push(
        `${name} must be an absolute http(s) URL such as https://api.example.com; got ${JSON.stringify(raw)}.`,
      );
      return undefined;
    }
  }

  /**
   * A credential. Against the sandbox (no base URL) it defaults to the simulator's own;
   * against a real upstream it is mandatory. Its value never appears in a message.
   */
  secret(name: string, baseUrl: string | undefined, sandboxDefault: string): string {
    const raw = this.string(name);
    if (raw !== undefined) return raw;
    if (baseUrl !== undefined) {
      const base = name.startsWith('CHILLR') ? 'CHILLR_BASE_URL' : 'PBG_BASE_URL';
      this.problems.push(
        `${name} is required when ${base} is set (it is the upstream credential).`,
      );
    }
    return sandboxDefault;
  }

  merchantAuth(name: string, baseUrl: string | undefined): string {
    const value = this.secret(name, baseUrl, SANDBOX_DEFAULTS.pbgMerchantAuth);
    if (!/^[\x21-\x7e]{32}$/.test(value)) {
      this.problems.push(
        `${name} must be exactly 32 printable ASCII characters (no spaces); the value set has ` +
          `${value.length} characters.`,
      );
    }
    return value;
  }

  list(name: string): string[] | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    const items = raw
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
    const bad = items.filter((item) => !isIpAddress(item));
    if (bad.length > 0) {
      this.problems.push(
        `${name} must be a comma-separated list of IP addresses; not addresses: ${bad.join(', ')}.`,
      );
    }
    return items;
  }

  storeUrl(name: string, fallback: string): string {
    const raw = this.string(name) ?? fallback;
    if (/^(memory:\/\/|sqlite:(\/\/)?.+|rediss?:\/\/.+)$/.test(raw)) return raw;
    this.problems.push(
      `${name} must be memory://, sqlite:<path> (e.g. sqlite:data/payments.db) or redis://host:port; got ${JSON.stringify(redactUrl(raw))}.`,
    );
    return fallback;
  }

  redisUrl(name: string): string | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    if (/^rediss?:\/\/.+/.test(raw)) return raw;
    this.problems.push(
      `${name} must be a redis:// or rediss:// URL; got ${JSON.stringify(redactUrl(raw))}.`,
    );
    return undefined;
  }

  trustProxy(name: string): boolean | number | string {
    const raw = this.string(name);
    if (raw === undefined || raw === 'false') return false;
    if (raw === 'true') return true;
    if (/^\d+$/.test(raw)) return Number(raw);
    // Express also accepts 'loopback', 'uniquelocal' and address lists.
    return raw;
  }
}

function isIpAddress(value: string): boolean {
  const v4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
  return v4.test(value) || (/^[0-9a-f:]+$/i.test(value) && value.includes(':'));
}
