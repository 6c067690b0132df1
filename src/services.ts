import type { CollectService } from './chillr/service.js';

/** The service objects the graph calls. Built once by the composition root (src/app.ts). */
export interface Services {
  collect: CollectService;
}
