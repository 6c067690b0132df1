/**
 * Chillr and PayByGroup: where they are, their credentials (the sandbox's when unset), their
 * limits and caches.
 * Part of the configuration table (./variables.ts): in README order.
 */
import { int, ipList, merchantAuth, secret, url } from './variable.js';

const DAY_MS = 86_400_000;

/** The credentials the sandbox simulators accept when none are configured. Not secrets. */
export const SANDBOX_DEFAULTS = {
  chillrApiKey: '5695d71a6368690df2030000',
  chillrApiSecretKey: 'f333884a36ccfc54787e6d96eac5e3d3',
  pbgApiKey: 'sandbox-pbg-api-key',
  pbgMerchantId: 'ABC',
  pbgMerchantAuth: 'sandbox-merchant-auth-0123456789',
} as const;

export const UPSTREAM_VARIABLES = {
  CHILLR_BASE_URL: url({
    shown: 'unset → sandbox',
    meaning: 'e.g. `https://onlineapi.chillr.in`',
  }),
  CHILLR_API_KEY: secret({
    sandbox: SANDBOX_DEFAULTS.chillrApiKey,
    shown: 'sandbox key',
    meaning: 'required when `CHILLR_BASE_URL` is set',
  }),
  CHILLR_API_SECRET_KEY: secret({
    sandbox: SANDBOX_DEFAULTS.chillrApiSecretKey,
    shown: 'sandbox secret',
    meaning: 'required when `CHILLR_BASE_URL` is set',
  }),
  CHILLR_MAX_BATCH_SIZE: int({
    default: 1000,
    min: 1,
    max: 100_000,
    meaning: 'most customers in one batch; larger inputs are a userError before any call',
  }),
  CHILLR_POLL_INTERVAL_MS: int({
    default: 5000,
    min: 10,
    max: 3_600_000,
    meaning: 'how often `collectBatchUpdated` polls a batch',
  }),
  CHILLR_MAX_POLLERS: int({
    default: 1000,
    min: 1,
    max: 1_000_000,
    meaning:
      'batches this process polls at once for `collectBatchUpdated`; one more subscription is refused',
  }),
  CHILLR_STATUS_CACHE_MS: int({
    default: 1000,
    min: 0,
    max: 60_000,
    meaning:
      'how long a non-terminal batch status may be served again after the read that brought it was sent (0–60000); `0` = every read asks Chillr. See [Reads and caching](docs/behaviour.md#reads-and-caching)',
  }),
  CHILLR_SANDBOX_PORT: int({
    default: 4001,
    min: 0,
    max: 65535,
    meaning: 'port of the in-process Chillr simulator when `CHILLR_BASE_URL` is unset (`0` = any)',
  }),
  PBG_BASE_URL: url({
    shown: 'unset → sandbox',
    meaning: "PayByGroup's address",
  }),
  PBG_API_KEY: secret({
    sandbox: SANDBOX_DEFAULTS.pbgApiKey,
    shown: 'sandbox key',
    meaning: 'required when `PBG_BASE_URL` is set',
  }),
  PBG_MERCHANT_ID: secret({
    sandbox: SANDBOX_DEFAULTS.pbgMerchantId,
    shown: 'sandbox merchant',
    meaning: 'required when `PBG_BASE_URL` is set',
  }),
  PBG_MERCHANT_AUTH: merchantAuth({
    sandbox: SANDBOX_DEFAULTS.pbgMerchantAuth,
    shown: 'sandbox token',
    meaning: '32 printable ASCII characters; PBG sends it on every callback, we send it on actions',
  }),
  PBG_ALLOWED_IPS: ipList({
    meaning: 'comma-separated addresses; when set, PBG callbacks from elsewhere are refused',
  }),
  PBG_SANDBOX_PORT: int({
    default: 4002,
    min: 0,
    max: 65535,
    meaning: 'port of the in-process PayByGroup simulator when `PBG_BASE_URL` is unset (`0` = any)',
  }),
  PBG_CACHE_TTL_MS: int({
    default: 30_000,
    min: 0,
    max: 86_400_000,
    meaning:
      'how long a known purchase state (read or pushed) is served to `groupPurchase`/`_entities` without asking PayByGroup; change pushes refresh it; `0` = always ask. See [Reads and caching](docs/behaviour.md#reads-and-caching); final purchases: [Caching](docs/caching.md#caching)',
  }),
  PBG_CHANGE_LOG_TTL_MS: int({
    default: 7 * DAY_MS,
    min: 60_000,
    max: 366 * DAY_MS,
    shown: '`604800000` (7 days)',
    meaning:
      'how long the purchase change log keeps a change; a cursor older than that is refused (see "Change log and resume")',
  }),
  PBG_RECONCILE_INTERVAL_MS: int({
    default: 60_000,
    min: 0,
    max: 86_400_000,
    meaning:
      'how often one instance compares the purchases it knows in a non-final state with PayByGroup; `0` = never',
  }),
  PBG_CALLBACK_MAX_BYTES: int({
    default: 4_194_304,
    min: 1024,
    max: 9_437_184,
    meaning:
      'largest PayByGroup callback body (413); a body without the right `merchant_auth` in its first 4 KiB is refused (401) before the rest is read',
  }),
  PUBLIC_BASE_URL: url({
    shown: '`http://127.0.0.1:$PORT`',
    meaning: 'where PayByGroup reaches this service (the sandbox calls it back there)',
  }),
};
