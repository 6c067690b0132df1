/**
 * Typed readers of one environment object for src/config.ts, which alone passes process.env in.
 * `get` reads a variable of the configuration table (src/config/variables.ts), which picks the
 * typed reader below and its bounds and default.
 */
import { VARIABLES, type ArgsOf, type ValueOf, type VariableName } from './config/variables.js';
import type { Variable } from './config/variable.js';
import { redactUrl } from './store/url.js';

/** The environment as config.ts hands it over (process.env, or a test's own object). */
export type Env = Record<string, string | undefined>;

/** Small typed readers; each records a problem instead of throwing so all are reported. */
export class Reader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  /** The variable `name` as the configuration table says to read it. */
  get<K extends VariableName>(name: K, ...args: ArgsOf<K>): ValueOf<K> {
    const variable = VARIABLES[name] as unknown as Variable<ValueOf<K>, ArgsOf<K>>;
    return variable.read(this, name, ...args);
  }

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

  bool(name: string, fallback: boolean): boolean {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    this.problems.push(
      `${name} must be true or false; got ${JSON.stringify(raw)}. Unset it for the default ${fallback}.`,
    );
    return fallback;
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

  merchantAuth(name: string, baseUrl: string | undefined, sandboxDefault: string): string {
    const value = this.secret(name, baseUrl, sandboxDefault);
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
    if (/^(memory:\/\/|sqlite:(\/\/)?.+|rediss?:\/\/.+|postgres(ql)?:\/\/.+)$/.test(raw))
      return raw;
    this.problems.push(
      `${name} must be memory://, sqlite:<path> (e.g. sqlite:data/payments.db), redis://host:port or postgres://user:password@host:port/database; got ${JSON.stringify(redactUrl(raw))}.`,
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

  /** Comma-separated origins such as `https://router.internal:4040` (no path). */
  origins(name: string): string[] | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    const items = raw
      .split(',')
      .map((item) => item.trim().replace(/\/+$/, ''))
      .filter(Boolean);
    const bad = items.filter((item) => {
      try {
        const url = new URL(item);
        return !/^https?:$/.test(url.protocol) || url.origin !== item;
      } catch {
        return true;
      }
    });
    if (bad.length > 0) {
      this.problems.push(
        `${name} must be a comma-separated list of origins like https://router.internal:4040 (scheme, host, port; no path); not origins: ${bad.join(', ')}.`,
      );
    }
    return items;
  }

  trustProxy(name: string): boolean | number | string[] {
    const raw = this.string(name);
    if (raw === undefined || raw === 'false') return false;
    if (raw === 'true') return true;
    if (/^\d+$/.test(raw)) return Number(raw);
    const items = raw.split(',').map((item) => item.trim());
    const bad = items.filter((item) => !isProxySpec(item));
    if (bad.length === 0 && items.length > 0) return items;
    this.problems.push(
      `${name} must be false, true, a hop count, or a comma-separated list of addresses, CIDRs ` +
        `or loopback/linklocal/uniquelocal; not understood: ${bad.map((b) => JSON.stringify(b)).join(', ')}.`,
    );
    return false;
  }

  optionalInt(name: string, min: number, max: number): number | undefined {
    if (this.string(name) === undefined) return undefined;
    return this.int(name, min, min, max);
  }

  headerName(name: string, fallback: string): string {
    const raw = this.string(name) ?? fallback;
    if (/^[A-Za-z0-9-]+$/.test(raw)) return raw.toLowerCase();
    this.problems.push(
      `${name} must be an HTTP header name (letters, digits, '-'); got ${JSON.stringify(raw)}.`,
    );
    return fallback;
  }
}

/** An address, a CIDR (address/prefix) or one of express's names for address ranges. */
function isProxySpec(item: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(item)) return true;
  const [address, prefix, extra] = item.split('/');
  if (extra !== undefined || !address || !isIpAddress(address)) return false;
  if (prefix === undefined) return true;
  const max = address.includes(':') ? 128 : 32;
  return /^\d+$/.test(prefix) && Number(prefix) <= max;
}

function isIpAddress(value: string): boolean {
  const v4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
  return v4.test(value) || (/^[0-9a-f:]+$/i.test(value) && value.includes(':'));
}
