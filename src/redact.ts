/**
 * The one redaction every piece of upstream text passes before it can reach a caller or a log
 * line. Chillr and PayByGroup both put free text in their failure answers, and both have been
 * seen to echo the request they were sent — whose body carries this server's credentials
 * (`api_key`, `api_secret_key`, `merchant_auth`). Field-path redaction in the logger cannot see
 * inside such a string, so the text itself is scrubbed: every configured secret is replaced
 * by `[redacted]`, in the forms an echo is likely to use (as sent, URL-encoded, JSON-escaped).
 *
 * Secrets shorter than {@link MIN_SECRET_LENGTH} are not redacted by themselves: blanking a
 * two-letter merchant id would also blank it inside every purchase id and word that contains
 * it, mangling messages without protecting anything a guess could not find.
 */
export const REDACTED = '[redacted]';
const MIN_SECRET_LENGTH = 3;

export class Redactor {
  /** Longest first, so a secret that contains another is replaced whole. */
  private readonly needles: string[];

  constructor(secrets: Iterable<string | undefined>) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (secret === undefined || secret.length < MIN_SECRET_LENGTH) continue;
      forms.add(secret);
      forms.add(encodeURIComponent(secret));
      forms.add(JSON.stringify(secret).slice(1, -1));
    }
    this.needles = [...forms].sort((a, b) => b.length - a.length);
  }

  /** `text` with every secret replaced by `[redacted]`. */
  text(text: string): string {
    let safe = text;
    for (const needle of this.needles) {
      if (safe.includes(needle)) safe = safe.split(needle).join(REDACTED);
    }
    return safe;
  }

  /** Upstream free text made safe to show: redacted, then cut to `max` characters. */
  upstreamText(text: string, max = 200): string {
    const safe = this.text(text);
    return safe.length > max ? `${safe.slice(0, max)}…` : safe;
  }
}

/** Redacts nothing; for library callers and tests that configure no secrets. */
export const noRedaction = new Redactor([]);

/** The credentials a configuration holds: what no log line may carry, whatever its shape. */
export function credentialsOf(config: {
  chillr: { apiKey: string; apiSecretKey: string };
  pbg: { apiKey: string; merchantAuth: string };
  router?: { secret: string | undefined };
}): string[] {
  return [
    config.chillr.apiKey,
    config.chillr.apiSecretKey,
    config.pbg.apiKey,
    config.pbg.merchantAuth,
    ...(config.router?.secret ? [config.router.secret] : []),
  ];
}

/**
 * What no upstream text may carry into an error or a userError: the credentials, and the
 * merchant id PayByGroup knows this service by.
 */
export function upstreamSecretsOf(config: {
  chillr: { apiKey: string; apiSecretKey: string };
  pbg: { apiKey: string; merchantAuth: string; merchantId: string };
  router?: { secret: string | undefined };
}): string[] {
  return [...credentialsOf(config), config.pbg.merchantId];
}
