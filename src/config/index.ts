// Configuration: every environment variable Herald reads, parsed once, here and nowhere else.
// A bad value stops start-up with the variable, the value and what is allowed (pg-boss style).
import { z } from "zod";

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const int = (min: number, max: number) =>
  z.coerce
    .number({ message: "a whole number" })
    .int("a whole number")
    .min(min, `at least ${min}`)
    .max(max, `at most ${max}`);

const optionalString = z
  .string()
  .transform((s) => s.trim())
  .transform((s) => (s === "" ? undefined : s))
  .optional();

const url = (protocols: RegExp, what: string) =>
  z
    .string()
    .trim()
    .refine((s) => {
      try {
        return protocols.test(new URL(s).protocol);
      } catch {
        return false;
      }
    }, what);

/** Retry delays in seconds, e.g. "0,5,300" (the partner schedule). */
const secondsList = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, "comma-separated seconds, e.g. 0,5,300,1800")
  .transform((s) => s.split(",").map((x) => Math.round(Number(x) * 1000)));

const envSchema = z.object({
  REDIS_URL: url(/^rediss?:$/, "a redis:// or rediss:// URL").optional(),
  HERALD_PREFIX: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_{}.-]{1,40}$/, "1-40 letters, digits, _ . - { } (a hash tag like {herald} for Redis Cluster)")
    .default("herald"),
  HOST: z.string().trim().min(1).default("127.0.0.1"),
  PORT: int(0, 65535).default(3000),
  PUBLIC_URL: url(/^https?:$/, "an http(s) URL such as https://news.example.org").default("http://localhost:3000"),
  API_TOKEN: z.string().trim().min(16, "at least 16 characters").optional(),
  SECRET_KEY: z.string().trim().min(32, "at least 32 characters").optional(),
  SECRET_KEY_PREVIOUS: z.string().trim().min(32, "at least 32 characters").optional(),
  SMTP_URL: url(/^smtps?:$/, "an smtp:// or smtps:// URL").optional(),
  OUTBOX_DIR: z.string().trim().min(1).default("var/outbox"),
  VAR_DIR: z.string().trim().min(1).default("var"),
  MAIL_FROM: z.string().trim().min(3).default("Herald <newsroom@localhost>"),
  ORG_NAME: z.string().trim().min(1).max(120).default("International Organization for Migration"),
  BRAND_COLOR: z
    .string()
    .trim()
    .regex(/^#[0-9a-fA-F]{6}$/, "a colour like #0033a0")
    .default("#0033a0"),
  LOGO_URL: url(/^https?:$/, "an http(s) URL").optional(),
  DEFAULT_TIMEZONE: z.string().trim().refine(isTimeZone, "an IANA time zone such as UTC or Africa/Djibouti").default("UTC"),
  DIGEST_HOUR: int(0, 23).default(8),
  WEEKLY_DIGEST_DAY: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(WEEKDAYS, { message: `one of ${WEEKDAYS.join(", ")}` }))
    .default("monday"),
  EMAIL_RATE_PER_SECOND: int(1, 100_000).default(50),
  ADMIN_PASSWORD: z.string().min(8, "at least 8 characters").optional(),
  WEBSUB_HUB: url(/^https?:$/, "an http(s) URL").optional(),
  FEED_SIZE: int(1, 500).default(50),
  PARTNER_RETRY_SCHEDULE: secondsList.default([0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400].map((s) => s * 1000)),
  PARTNER_TIMEOUT_MS: int(100, 120_000).default(15_000),
  PARTNER_CONCURRENCY: int(1, 500).default(50),
  PARTNER_MAX_IN_FLIGHT: int(1, 100).default(8),
  WORKER_LOCK_MS: int(1000, 600_000).default(30_000),
  WORKER_STALLED_INTERVAL_MS: int(1000, 600_000).optional(),
  SEND_LEASE_MS: int(1000, 3_600_000).optional(),
  DKIM_DOMAIN: optionalString,
  DKIM_SELECTOR: optionalString,
  DKIM_PRIVATE_KEY: optionalString,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export interface Config {
  redisUrl?: string;
  prefix: string;
  host: string;
  port: number;
  publicUrl: string;
  apiToken?: string;
  secretKey?: string;
  /** After a SECRET_KEY rotation: still accepted for links in emails already sent (never signs). */
  secretKeyPrevious?: string;
  smtpUrl?: string;
  outboxDir: string;
  varDir: string;
  mailFrom: string;
  orgName: string;
  brandColor: string;
  logoUrl?: string;
  defaultTimezone: string;
  digestHour: number;
  weeklyDigestDay: Weekday;
  emailRatePerSecond: number;
  adminPassword?: string;
  websubHub?: string;
  feedSize: number;
  /** Delays in ms before each delivery attempt; its length is the number of attempts. */
  partnerRetrySchedule: number[];
  partnerTimeoutMs: number;
  /** Deliveries one worker process runs at once, across all partners. */
  partnerConcurrency: number;
  /** Requests in flight to one partner at once (all processes): a slow partner cannot take every slot. */
  partnerMaxInFlight: number;
  /**
   * How long a worker holds a job before it must renew its lock; a crashed worker's jobs are
   * taken over within about twice this (BullMQ lockDuration and stalledInterval).
   */
  workerLockMs: number;
  /** How often a worker looks for jobs whose lock ran out (BullMQ stalledInterval); default WORKER_LOCK_MS. */
  workerStalledIntervalMs: number;
  /**
   * A run's lease on one email reader or one partner delivery before it hands it over (SMTP,
   * HTTP); see src/mail/leases.ts. Default 2 × (lock + stalled interval): a worker paused long
   * enough to lose its job still holds its leases, so the run that takes the job over waits.
   */
  sendLeaseMs: number;
  dkim?: { domain: string; selector: string; privateKey: string };
  logLevel: string;
}

export class ConfigError extends Error {
  readonly code = "HERALD_CONFIG";
}

function describe(value: unknown): string {
  const s = String(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Parses an environment (process.env by default). Throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset", as in most shells' `FOO= herald start`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      return `${name}=${JSON.stringify(describe(cleaned[name]))} is not allowed: ${i.message}`;
    });
    throw new ConfigError(`invalid configuration: ${lines.join("; ")}`);
  }
  const e = parsed.data;
  const dkimParts = [e.DKIM_DOMAIN, e.DKIM_SELECTOR, e.DKIM_PRIVATE_KEY];
  if (dkimParts.some(Boolean) && !dkimParts.every(Boolean)) {
    throw new ConfigError(
      "invalid configuration: DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY must be set together (or none of them)",
    );
  }
  const stalledMs = e.WORKER_STALLED_INTERVAL_MS ?? e.WORKER_LOCK_MS;
  const leaseMs = e.SEND_LEASE_MS ?? 2 * (e.WORKER_LOCK_MS + stalledMs);
  if (leaseMs < 2 * e.WORKER_LOCK_MS) {
    throw new ConfigError(
      `invalid configuration: SEND_LEASE_MS=${leaseMs} is not allowed: at least twice WORKER_LOCK_MS (${2 * e.WORKER_LOCK_MS}), ` +
        "or a worker paused past its job lock loses its send leases too and two workers send the same message",
    );
  }
  return {
    redisUrl: e.REDIS_URL,
    prefix: e.HERALD_PREFIX,
    host: e.HOST,
    port: e.PORT,
    publicUrl: e.PUBLIC_URL.replace(/\/+$/, ""),
    apiToken: e.API_TOKEN,
    secretKey: e.SECRET_KEY,
    secretKeyPrevious: e.SECRET_KEY_PREVIOUS,
    smtpUrl: e.SMTP_URL,
    outboxDir: e.OUTBOX_DIR,
    varDir: e.VAR_DIR,
    mailFrom: e.MAIL_FROM,
    orgName: e.ORG_NAME,
    brandColor: e.BRAND_COLOR,
    logoUrl: e.LOGO_URL,
    defaultTimezone: e.DEFAULT_TIMEZONE,
    digestHour: e.DIGEST_HOUR,
    weeklyDigestDay: e.WEEKLY_DIGEST_DAY,
    emailRatePerSecond: e.EMAIL_RATE_PER_SECOND,
    adminPassword: e.ADMIN_PASSWORD,
    websubHub: e.WEBSUB_HUB,
    feedSize: e.FEED_SIZE,
    partnerRetrySchedule: e.PARTNER_RETRY_SCHEDULE,
    partnerTimeoutMs: e.PARTNER_TIMEOUT_MS,
    partnerConcurrency: e.PARTNER_CONCURRENCY,
    partnerMaxInFlight: e.PARTNER_MAX_IN_FLIGHT,
    workerLockMs: e.WORKER_LOCK_MS,
    workerStalledIntervalMs: stalledMs,
    sendLeaseMs: leaseMs,
    dkim: e.DKIM_DOMAIN ? { domain: e.DKIM_DOMAIN, selector: e.DKIM_SELECTOR!, privateKey: e.DKIM_PRIVATE_KEY! } : undefined,
    logLevel: e.LOG_LEVEL,
  };
}

/** Config for tests and tools: defaults plus the given overrides, no environment read. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({}), ...overrides };
}
