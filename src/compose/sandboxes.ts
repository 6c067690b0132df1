import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { startChillrSimulator, type ChillrSimulator } from '../sandbox/chillr/index.js';
import { startPbgSimulator, type PbgSimulator } from '../sandbox/pbg/index.js';
import { sandboxStatePath } from '../sandbox/state-file.js';
import type { Closers } from './closers.js';

export interface Upstreams {
  chillrBaseUrl: string;
  pbgBaseUrl: string;
  /** The in-process simulators standing in for unconfigured upstreams. */
  sandbox: { chillr?: ChillrSimulator; pbg?: PbgSimulator };
}

/**
 * The upstreams' addresses: the configured ones, or in-process simulators (state kept beside
 * the store) for each one left unset. The PayByGroup simulator calls this service back at
 * `merchantBaseUrl`, so the HTTP listeners must be bound before this runs.
 */
export async function startUpstreams(
  config: Config,
  merchantBaseUrl: string,
  logger: Logger,
  closers: Closers,
): Promise<Upstreams> {
  const sandbox: Upstreams['sandbox'] = {};
  let chillrBaseUrl = config.chillr.baseUrl;
  if (chillrBaseUrl === undefined) {
    const simulator = await startChillrSimulator({
      port: config.chillr.sandboxPort,
      credentials: { apiKey: config.chillr.apiKey, apiSecretKey: config.chillr.apiSecretKey },
      stateFile: sandboxStatePath(config.storeUrl, 'chillr'),
      logger: logger.child({ component: 'chillr-sandbox' }),
    });
    sandbox.chillr = simulator;
    closers.add(() => simulator.close());
    chillrBaseUrl = simulator.url;
    logger.info(
      { url: chillrBaseUrl },
      'CHILLR_BASE_URL unset: using the in-process Chillr sandbox',
    );
  }
  let pbgBaseUrl = config.pbg.baseUrl;
  if (pbgBaseUrl === undefined) {
    const simulator = await startPbgSimulator({
      port: config.pbg.sandboxPort,
      apiKey: config.pbg.apiKey,
      merchantId: config.pbg.merchantId,
      merchantAuth: config.pbg.merchantAuth,
      merchantBaseUrl: config.pbg.publicBaseUrl ?? merchantBaseUrl,
      // The loop is closed: the simulator POSTs its change pushes to this service.
      deliverChangePushes: true,
      stateFile: sandboxStatePath(config.storeUrl, 'pbg'),
      logger: logger.child({ component: 'pbg-sandbox' }),
    });
    sandbox.pbg = simulator;
    closers.add(() => simulator.close());
    pbgBaseUrl = simulator.url;
    logger.info({ url: pbgBaseUrl }, 'PBG_BASE_URL unset: using the in-process PayByGroup sandbox');
  }
  return { chillrBaseUrl, pbgBaseUrl, sandbox };
}
