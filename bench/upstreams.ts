import { startChillrSimulator } from '../src/sandbox/chillr/index.js';
import { startPbgSimulator } from '../src/sandbox/pbg/index.js';
import { serveParent } from './ipc.js';
import { BENCH_CREDENTIALS } from './wire.js';

/**
 * Child process: both sandbox simulators, standalone (as test/helpers/app.ts starts them), on
 * ephemeral loopback ports, state in memory. The project reaches them through CHILLR_BASE_URL
 * and PBG_BASE_URL like real upstreams; the bench reads their call counters here, which is why
 * they are not the project's in-process sandboxes.
 */

export interface UpstreamsReady {
  chillrUrl: string;
  pbgUrl: string;
}

/** Upstream calls received since start (control calls are not counted). */
export interface UpstreamCounts {
  chillrCollect: number;
  chillrStatus: number;
  pbgQuery: number;
  pbgAction: number;
}

const chillr = await startChillrSimulator({
  credentials: {
    apiKey: BENCH_CREDENTIALS.chillrApiKey,
    apiSecretKey: BENCH_CREDENTIALS.chillrApiSecretKey,
  },
});
const pbg = await startPbgSimulator({
  apiKey: BENCH_CREDENTIALS.pbgApiKey,
  merchantId: BENCH_CREDENTIALS.pbgMerchantId,
  merchantAuth: BENCH_CREDENTIALS.pbgMerchantAuth,
});

// The simulators count monotonically here; PBG also keeps every request body, which would grow
// without bound under load, so its counters are folded into these totals and reset each read.
const totals = { pbgQuery: 0, pbgAction: 0 };

serveParent({ chillrUrl: chillr.url, pbgUrl: pbg.url } satisfies UpstreamsReady, {
  counts: (): UpstreamCounts => {
    totals.pbgQuery += pbg.calls.query;
    totals.pbgAction += pbg.calls.action;
    pbg.resetCalls();
    return {
      chillrCollect: chillr.calls.collect,
      chillrStatus: chillr.calls.checkCollectStatus,
      ...totals,
    };
  },
  expireBatch: (batchId: string) => chillr.expireBatch(batchId),
});
