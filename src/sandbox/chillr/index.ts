/**
 * In-process simulator of the Chillr Mass Collect API, written from
 * Chillr's API document alone. It shares no code with the REST client in src/chillr/, so a misreading of the document cannot hide in both.
 */
export { SANDBOX_CHILLR_CREDENTIALS, startChillrSimulator } from './server.js';
export { SandboxControlError } from './store.js';
export type {
  ChillrCallCounts,
  ChillrCredentials,
  ChillrEndpoint,
  ChillrFault,
  ChillrSimulator,
  ChillrSimulatorOptions,
  SettablePaymentStatus,
} from './types.js';
