import type { AddressInfo } from 'node:net';
import { SANDBOX_DEFAULTS } from '../../config/variables.js';
import { silentLogger } from '../../logger.js';
import { PbgCore, type CoreConfig } from './core.js';
import { parseFault, type PbgFault } from './faults.js';
import { createPbgServer } from './server.js';
import type { PbgSimulator, PbgSimulatorOptions } from './types.js';

export type {
  CallbackRecord,
  PbgCalls,
  PbgFault,
  PbgSimulator,
  PbgSimulatorOptions,
  PushRecord,
  StartPurchaseInput,
} from './types.js';
export { SandboxError as PbgSandboxError } from './http.js';

/**
 * The sandbox merchant's well-known credentials. Not secrets: they only open the simulator,
 * which listens on loopback by default.
 */
export const SANDBOX_PBG = {
  apiKey: SANDBOX_DEFAULTS.pbgApiKey,
  merchantId: SANDBOX_DEFAULTS.pbgMerchantId,
  /** 32 printable ASCII characters, as the document requires of merchant_auth. */
  merchantAuth: SANDBOX_DEFAULTS.pbgMerchantAuth,
} as const satisfies { apiKey: string; merchantId: string; merchantAuth: string };

function resolveConfig(options: PbgSimulatorOptions): CoreConfig {
  const fail = (message: string): never => {
    throw new TypeError(`PBG simulator: ${message}`);
  };
  const apiKey = options.apiKey ?? SANDBOX_PBG.apiKey;
  const merchantId = options.merchantId ?? SANDBOX_PBG.merchantId;
  const merchantAuth = options.merchantAuth ?? SANDBOX_PBG.merchantAuth;
  if (apiKey === '') fail('apiKey must not be empty');
  if (merchantId === '') fail('merchantId must not be empty');
  if (!/^[\x20-\x7e]{32}$/.test(merchantAuth)) {
    fail('merchantAuth must be exactly 32 printable ASCII characters');
  }
  let merchantBaseUrl: string | undefined;
  if (options.merchantBaseUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(options.merchantBaseUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      fail(
        `merchantBaseUrl must be an http(s) URL, got ${JSON.stringify(options.merchantBaseUrl)}`,
      );
    }
    // Callback paths are appended to it, so a trailing slash would double up.
    merchantBaseUrl = options.merchantBaseUrl.replace(/\/+$/, '');
  }
  return {
    apiKey,
    merchantId,
    merchantAuth,
    merchantBaseUrl,
    deliverChangePushes: options.deliverChangePushes ?? false,
    seed: options.seed ?? true,
    stateFile: options.stateFile,
    now: options.now ?? (() => new Date()),
    logger: options.logger ?? silentLogger,
  };
}

/** Starts the PayByGroup simulator and resolves once it is listening. */
export async function startPbgSimulator(options: PbgSimulatorOptions = {}): Promise<PbgSimulator> {
  const config = resolveConfig(options);
  const port = options.port ?? 0;
  const host = options.host ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError(`PBG simulator: port must be an integer from 0 to 65535, got ${port}`);
  }
  // One signal ends everything in flight on close: callbacks, push retries, delay faults.
  const closing = new AbortController();
  const core = new PbgCore(config, closing.signal);
  const server = createPbgServer(core, closing.signal);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  config.logger.info({ url, merchantId: config.merchantId }, 'PBG sandbox listening');

  let closed: Promise<void> | undefined;
  return {
    url,
    calls: core.calls,
    resetCalls: () => core.resetCalls(),
    pushes: core.pusher.records,
    callbacks: core.merchant.records,
    startPurchase: (input) => core.startPurchase(input),
    payShare: (purchaseId) => core.payShare(purchaseId),
    updatePurchase: (purchaseId, patch, options) => core.updatePurchase(purchaseId, patch, options),
    injectFault: (fault: PbgFault) => core.faults.add(parseFault(fault)),
    settled: () => core.pusher.settled(),
    close: () => {
      closed ??= (async () => {
        closing.abort();
        await core.pusher.settled();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}
