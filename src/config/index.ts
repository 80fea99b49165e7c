// Configuration: every environment variable Herald reads, parsed once, here and nowhere else.
// A bad value stops start-up with the variable, the value and what is allowed (pg-boss style).
// Each variable is written once, in ENV_VARIABLES: its parser (with its default), the Config field
// it fills and what it does. The schema, the Config type and the error messages come from there.
import ipaddr from "ipaddr.js";
import { z } from "zod";
import { isTimeZone } from "../clock.ts";

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/**
 * TRUST_PROXY: whom to believe about the client's address (X-Forwarded-For). Off by default: the
 * peer's own address is the client, whatever the headers say. `true` trusts every hop (only when
 * Herald cannot be reached except through the proxy), a number trusts that many hops, a list trusts
 * the proxies at those addresses.
 */
export type TrustProxy = boolean | number | string[];

export interface HostPort {
  host: string;
  port: number;
}

export interface RedisAuth {
  username?: string;
  password?: string;
}

/**
 * A Redis that is not one URL: a Redis Cluster (seed nodes; ioredis finds the rest) or a
 * primary watched by Sentinels (ioredis asks them for the current primary, and asks again
 * after a failover). `tls` applies to every connection, Sentinels included.
 */
export type RedisHa =
  | { mode: "cluster"; nodes: HostPort[]; auth: RedisAuth; tls: boolean }
  | {
      mode: "sentinel";
      sentinels: HostPort[];
      name: string;
      db: number;
      auth: RedisAuth;
      sentinelAuth: RedisAuth;
      tls: boolean;
    };

/** Herald's settings: the variables that fill a field as parsed (Fields), and the fields made from several (Derived). */
export interface Config extends Fields, Derived {}

/**
 * The fields loadConfig makes from several variables (or from one variable and a rule); the
 * variables of ENV_VARIABLES without a `field` feed these.
 */
interface Derived {
  /** A single Redis (REDIS_URL with REDIS_USERNAME/REDIS_PASSWORD/REDIS_TLS folded in). */
  redisUrl?: string;
  /** Redis Cluster or Sentinel; when set, redisUrl is unset. */
  redisHa?: RedisHa;
  /** PUBLIC_URL without a trailing slash; unset: where this process listens (publicUrlFor HOST and PORT). */
  publicUrl: string;
  /** OUTBOX_DIR; unset: VAR_DIR/outbox, beside the other local state. */
  outboxDir: string;
  /** ORG_NAME: the organisation's name in English (and any language without its own). */
  orgName: string;
  /** The name per reader language: ORG_NAME_FR, ORG_NAME_ES, else ORG_NAME. */
  orgNames: { en: string; fr: string; es: string };
  /** How often a worker looks for jobs whose lock ran out (BullMQ stalledInterval); default WORKER_LOCK_MS. */
  workerStalledIntervalMs: number;
  /**
   * A run's lease on one email reader or one partner delivery before it hands it over (SMTP,
   * HTTP); see src/mail/leases.ts. Default 2 × (lock + stalled interval): a worker paused long
   * enough to lose its job still holds its leases, so the run that takes the job over waits.
   */
  sendLeaseMs: number;
  /** DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY, all three or none. */
  dkim?: { domain: string; selector: string; privateKey: string };
}

/** One environment variable: how its value is read, and which Config field holds it as parsed. */
interface EnvVariable {
  /** Parses the value (an empty one counts as unset); carries the default, or .optional(). */
  schema: z.ZodType;
  /** The Config field that holds the parsed value as is; none: it feeds a Derived field. */
  field?: string;
}

/**
 * Every variable Herald reads (HERALD_ENV_FILE aside: env-file.ts reads it before this runs), in
 * the order errors are listed. README.md's tables name each of them (test/unit/config-readme.test.ts).
 */
export const ENV_VARIABLES = {
  /** redis://, rediss:// or redis+sentinel:// URL of the Redis (else the local one, else an embedded one). */
  REDIS_URL: { schema: redisUrl().optional() },
  /** Redis Cluster seed nodes, host:port,host:port; needs a hash-tag HERALD_PREFIX. */
  REDIS_CLUSTER_NODES: { schema: hostPortList().optional() },
  /** The Sentinels watching the primary, host[:26379],…; with REDIS_SENTINEL_NAME. */
  REDIS_SENTINELS: { schema: hostPortList(26379).optional() },
  /** The master name the Sentinels monitor. */
  REDIS_SENTINEL_NAME: {
    schema: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_.-]{1,100}$/, "the master name the Sentinels monitor (letters, digits, _ . -)")
      .optional(),
  },
  /** Redis ACL user of the Redis, the cluster nodes or the Sentinel-watched primary. */
  REDIS_USERNAME: { schema: z.string().trim().min(1).max(200).optional() },
  /** Its password. */
  REDIS_PASSWORD: { schema: z.string().min(1).max(1000).optional() },
  /** The Sentinels' own ACL user, when they have one. */
  REDIS_SENTINEL_USERNAME: { schema: z.string().trim().min(1).max(200).optional() },
  /** The Sentinels' own password. */
  REDIS_SENTINEL_PASSWORD: { schema: z.string().min(1).max(1000).optional() },
  /** TLS to every Redis connection, Sentinels included (as rediss:// does). */
  REDIS_TLS: { schema: flag().optional() },
  /**
   * The buckets the readers' data is split into, each its own hash tag (redis/shards.ts). Unset:
   * the number the data was written with, else 1 on a single Redis or Sentinel, 16 on a Cluster.
   */
  REDIS_SHARDS: { schema: int(1, 256).optional(), field: "redisShards" },
  /** How long SIGTERM may take (jobs finishing, connections closing) before exiting non-zero. */
  SHUTDOWN_TIMEOUT_MS: { schema: int(100, 600_000).default(25_000), field: "shutdownTimeoutMs" },
  /** Prefix of every Redis key; on a Redis Cluster one hash tag such as {herald}. */
  HERALD_PREFIX: {
    schema: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_{}.-]{1,40}$/, "1-40 letters, digits, _ . - { } (a hash tag like {herald} for Redis Cluster)")
      .default("herald"),
    field: "prefix",
  },
  /** Where the HTTP server listens. */
  HOST: { schema: z.string().trim().min(1).default("127.0.0.1"), field: "host" },
  /** The HTTP server's port. */
  PORT: { schema: int(0, 65535).default(3000), field: "port" },
  /** Base of every link in email, feeds and webhooks; unset: from HOST and PORT, so `PORT=4000` alone gives working links. */
  PUBLIC_URL: { schema: url(/^https?:$/, "an http(s) URL such as https://news.example.org").optional() },
  /** Bearer token of /api/*; unset: generated into VAR_DIR/api-token. */
  API_TOKEN: { schema: z.string().trim().min(16, "at least 16 characters").optional(), field: "apiToken" },
  /** Signs subscriber tokens; unset: generated into VAR_DIR/secret-key. */
  SECRET_KEY: { schema: z.string().trim().min(32, "at least 32 characters").optional(), field: "secretKey" },
  /** After a SECRET_KEY rotation: still accepted for links in emails already sent (never signs). */
  SECRET_KEY_PREVIOUS: {
    schema: z.string().trim().min(32, "at least 32 characters").optional(),
    field: "secretKeyPrevious",
  },
  /** smtp:// or smtps:// server; unset: .eml files in OUTBOX_DIR. */
  SMTP_URL: { schema: url(/^smtps?:$/, "an smtp:// or smtps:// URL").optional(), field: "smtpUrl" },
  /** Where mail goes without SMTP_URL. */
  OUTBOX_DIR: { schema: z.string().trim().min(1).optional() },
  /** Generated secrets, embedded Redis data, the outbox. */
  VAR_DIR: { schema: z.string().trim().min(1).default("var"), field: "varDir" },
  /** Sender of every email. */
  MAIL_FROM: { schema: z.string().trim().min(3).default("Herald <newsroom@localhost>"), field: "mailFrom" },
  /** The organisation's name (English, and every language without its own); unset: IOM's. */
  ORG_NAME: { schema: z.string().trim().min(1).max(120).optional() },
  /** The organisation's name in French mail and pages. */
  ORG_NAME_FR: { schema: z.string().trim().min(1).max(120).optional() },
  /** The organisation's name in Spanish mail and pages. */
  ORG_NAME_ES: { schema: z.string().trim().min(1).max(120).optional() },
  /** Topics and regions merged over the built-in vocabulary (src/releases/taxonomy.json). */
  TAXONOMY_FILE: { schema: z.string().trim().min(1).optional(), field: "taxonomyFile" },
  /** Brand colour of email and pages. */
  BRAND_COLOR: {
    schema: z
      .string()
      .trim()
      .regex(/^#[0-9a-fA-F]{6}$/, "a colour like #0033a0")
      .default("#0033a0"),
    field: "brandColor",
  },
  /** Logo of email and pages. */
  LOGO_URL: { schema: url(/^https?:$/, "an http(s) URL").optional(), field: "logoUrl" },
  /** Time zone of readers who did not choose one. */
  DEFAULT_TIMEZONE: {
    schema: z.string().trim().refine(isTimeZone, "an IANA time zone such as UTC or Africa/Djibouti").default("UTC"),
    field: "defaultTimezone",
  },
  /** Local hour at which digests go out. */
  DIGEST_HOUR: { schema: int(0, 23).default(8), field: "digestHour" },
  /** Readers per digest planning job: a larger edition is split into jobs that workers plan at once. */
  DIGEST_PART_SIZE: { schema: int(10, 100_000).default(1000), field: "digestPartSize" },
  /** Day of the weekly digest. */
  WEEKLY_DIGEST_DAY: {
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(WEEKDAYS, { message: `one of ${WEEKDAYS.join(", ")}` }))
      .default("monday"),
    field: "weeklyDigestDay",
  },
  /** SMTP send rate limit across all workers. */
  EMAIL_RATE_PER_SECOND: { schema: int(1, 100_000).default(50), field: "emailRatePerSecond" },
  /** Readers who never confirm are erased this many days after their last change (hourly sweep). */
  PENDING_EXPIRY_DAYS: { schema: int(1, 365).default(7), field: "pendingExpiryDays" },
  /** Basic-auth password (user admin) of /admin/queues; unset: no dashboard. */
  ADMIN_PASSWORD: { schema: z.string().min(8, "at least 8 characters").optional(), field: "adminPassword" },
  /** WebSub hub notified after each feed rebuild. */
  WEBSUB_HUB: { schema: url(/^https?:$/, "an http(s) URL").optional(), field: "websubHub" },
  /** Items per feed. */
  FEED_SIZE: { schema: int(1, 500).default(50), field: "feedSize" },
  /** Seconds before each delivery attempt (parsed to ms); its length is the number of attempts. */
  PARTNER_RETRY_SCHEDULE: {
    schema: secondsList().default([0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400].map((s) => s * 1000)),
    field: "partnerRetrySchedule",
  },
  /** One webhook attempt, connect to last byte. */
  PARTNER_TIMEOUT_MS: { schema: int(100, 120_000).default(15_000), field: "partnerTimeoutMs" },
  /** Deliveries one worker process runs at once, across all partners. */
  PARTNER_CONCURRENCY: { schema: int(1, 500).default(50), field: "partnerConcurrency" },
  /** Requests in flight to one partner at once (all processes): a slow partner cannot take every slot. */
  PARTNER_MAX_IN_FLIGHT: { schema: int(1, 100).default(8), field: "partnerMaxInFlight" },
  /**
   * How long a worker holds a job before it must renew its lock; a crashed worker's jobs are
   * taken over within about twice this (BullMQ lockDuration and stalledInterval).
   */
  WORKER_LOCK_MS: { schema: int(1000, 600_000).default(30_000), field: "workerLockMs" },
  /**
   * How far V8 may let a worker process's old generation grow past what was live after its last
   * full collection, in percent (0: V8's own rule, which lets it reach about 4 x the live set).
   */
  WORKER_HEAP_GROWTH_PERCENT: { schema: int(0, 300).default(30), field: "workerHeapGrowthPercent" },
  /** The RFC 2919 List-Id of alerts, digests and notices; unset: listIdOf() derives it from MAIL_FROM. */
  LIST_ID: {
    schema: z
      .string()
      .trim()
      .regex(
        /^(?:[^<>\u0000-\u001f\u007f]{1,100} )?<[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+>$/,
        "a list id as in RFC 2919: a name and <label.domain>, e.g. IOM newsroom <news.iom.int>",
      )
      .optional(),
    field: "listId",
  },
  /**
   * How long readers whose language is not the original's wait for a translation before they get
   * the original (parsed to ms). See mail/alerts.ts.
   */
  ALERT_TRANSLATION_WAIT: {
    schema: z
      .string()
      .trim()
      .regex(/^\d+(ms|s|m|h)?$/, "a duration: seconds (300) or with a unit: 500ms, 90s, 5m, 1h")
      .transform(durationMs)
      .refine((ms) => ms <= 24 * 3600_000, "at most 24h")
      .default(5 * 60_000),
    field: "alertTranslationWaitMs",
  },
  /** How often workers look for jobs whose lock ran out; unset: WORKER_LOCK_MS. */
  WORKER_STALLED_INTERVAL_MS: { schema: int(1000, 600_000).optional() },
  /** A run's lease on a reader or a delivery; unset: 2 × (lock + stalled interval). */
  SEND_LEASE_MS: { schema: int(1000, 3_600_000).optional() },
  /** DKIM signing domain (with DKIM_SELECTOR and DKIM_PRIVATE_KEY). */
  DKIM_DOMAIN: { schema: optionalString() },
  /** DKIM selector. */
  DKIM_SELECTOR: { schema: optionalString() },
  /** DKIM private key (PEM). */
  DKIM_PRIVATE_KEY: { schema: optionalString() },
  /** Whose X-Forwarded-For to believe (Fastify trustProxy); false: the socket's peer is the client. */
  TRUST_PROXY: { schema: trustProxy().default(false), field: "trustProxy" },
  /** Bearer token of GET /metrics; unset: /metrics is open. */
  METRICS_TOKEN: { schema: z.string().trim().min(16, "at least 16 characters").optional(), field: "metricsToken" },
  /** Failed logins (API token, dashboard, metrics) one client may make per window before 429. */
  AUTH_MAX_FAILURES: { schema: int(1, 1_000_000).default(10), field: "authMaxFailures" },
  /** That window, in seconds. */
  AUTH_FAILURE_WINDOW_S: { schema: int(1, 86_400).default(900), field: "authFailureWindowS" },
  /** Whole request (headers and body) must arrive within this (Node requestTimeout). */
  REQUEST_TIMEOUT_MS: { schema: int(1000, 3_600_000).default(30_000), field: "requestTimeoutMs" },
  /** Request headers must arrive within this (Node headersTimeout); at most REQUEST_TIMEOUT_MS. */
  HEADERS_TIMEOUT_MS: { schema: int(1000, 3_600_000).default(10_000), field: "headersTimeoutMs" },
  /** A socket silent for this long is closed (Fastify connectionTimeout). */
  CONNECTION_TIMEOUT_MS: { schema: int(1000, 3_600_000).default(60_000), field: "connectionTimeoutMs" },
  /** An idle keep-alive connection is closed after this. */
  KEEP_ALIVE_TIMEOUT_MS: { schema: int(100, 3_600_000).default(72_000), field: "keepAliveTimeoutMs" },
  /** Requests one connection may carry before the server closes it; 0: no limit. */
  MAX_REQUESTS_PER_SOCKET: { schema: int(0, 1_000_000).default(0), field: "maxRequestsPerSocket" },
  /** pino's level (Config.logLevel is typed a string, as the logger takes it). */
  LOG_LEVEL: {
    schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info") as z.ZodType<string>,
    field: "logLevel",
  },
} as const satisfies Record<string, EnvVariable>;

type Variables = typeof ENV_VARIABLES;
const envSchema = z.object(schemasOf(ENV_VARIABLES));
/** The parsed environment, by variable name. */
type Env = z.output<typeof envSchema>;
/** The Config fields that hold one variable as parsed: its schema's output, optional when it has no default. */
type Fields = {
  [N in keyof Env as Variables[N] extends { field: infer F extends string } ? F : never]: Env[N];
};

function schemasOf<T extends Record<string, EnvVariable>>(table: T): { [N in keyof T]: T[N]["schema"] } {
  return Object.fromEntries(Object.entries(table).map(([name, v]) => [name, v.schema])) as {
    [N in keyof T]: T[N]["schema"];
  };
}

/** Parses an environment (process.env by default). Throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const e = parseEnv(env);
  checkTogether(e);
  const redis = redisTarget(e);
  const leases = leaseTimes(e);
  return {
    ...redis,
    ...fieldsOf(e),
    ...leases,
    publicUrl: (e.PUBLIC_URL ?? publicUrlFor(e.HOST, e.PORT)).replace(/\/+$/, ""),
    // Unset: beside the other local state, so one VAR_DIR moves all of it.
    outboxDir: e.OUTBOX_DIR ?? `${e.VAR_DIR}/outbox`,
    ...orgNamesOf(e),
    dkim: e.DKIM_DOMAIN
      ? { domain: e.DKIM_DOMAIN, selector: e.DKIM_SELECTOR!, privateKey: e.DKIM_PRIVATE_KEY! }
      : undefined,
  };
}

/** The environment through the schema; every bad variable in one ConfigError, in table order. */
function parseEnv(env: Record<string, string | undefined>): Env {
  // Empty strings mean "unset", as in most shells' `FOO= herald start`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => {
    const name = String(i.path[0]);
    return `${name}=${shownValue(name, cleaned[name])} is not allowed: ${i.message}`;
  });
  throw new ConfigError(`invalid configuration: ${lines.join("; ")}`);
}

/** Variables that are each fine but not together. */
function checkTogether(e: Env): void {
  if (e.HEADERS_TIMEOUT_MS > e.REQUEST_TIMEOUT_MS) {
    throw new ConfigError(
      `invalid configuration: HEADERS_TIMEOUT_MS=${e.HEADERS_TIMEOUT_MS} is not allowed: at most REQUEST_TIMEOUT_MS (${e.REQUEST_TIMEOUT_MS}); the headers are part of the request`,
    );
  }
  const dkimParts = [e.DKIM_DOMAIN, e.DKIM_SELECTOR, e.DKIM_PRIVATE_KEY];
  if (dkimParts.some(Boolean) && !dkimParts.every(Boolean)) {
    throw new ConfigError(
      "invalid configuration: DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY must be set together (or none of them)",
    );
  }
}

/** Every variable that has a `field`, under that field's name, as parsed. */
function fieldsOf(e: Env): Fields {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(ENV_VARIABLES) as [keyof Env, EnvVariable][]) {
    if (v.field) out[v.field] = e[name];
  }
  return out as Fields;
}

/** The stall interval and the send lease: derived from the job lock unless set, and checked against it. */
function leaseTimes(e: Env): Pick<Config, "workerStalledIntervalMs" | "sendLeaseMs"> {
  const stalledMs = e.WORKER_STALLED_INTERVAL_MS ?? e.WORKER_LOCK_MS;
  const leaseMs = e.SEND_LEASE_MS ?? 2 * (e.WORKER_LOCK_MS + stalledMs);
  if (leaseMs < 2 * e.WORKER_LOCK_MS) {
    throw new ConfigError(
      `invalid configuration: SEND_LEASE_MS=${leaseMs} is not allowed: at least twice WORKER_LOCK_MS (${2 * e.WORKER_LOCK_MS}), ` +
        "or a worker paused past its job lock loses its send leases too and two workers send the same message",
    );
  }
  return { workerStalledIntervalMs: stalledMs, sendLeaseMs: leaseMs };
}

/** The sample organisation's name in each reader language. */
const IOM = {
  en: "International Organization for Migration",
  fr: "Organisation internationale pour les migrations (OIM)",
  es: "Organización Internacional para las Migraciones (OIM)",
};

function orgNamesOf(e: Env): Pick<Config, "orgName" | "orgNames"> {
  return {
    orgName: e.ORG_NAME ?? IOM.en,
    // The built-in names are IOM's; an organisation that sets ORG_NAME gets it in every language
    // until it sets ORG_NAME_FR / ORG_NAME_ES.
    orgNames: {
      en: e.ORG_NAME ?? IOM.en,
      fr: e.ORG_NAME_FR ?? e.ORG_NAME ?? IOM.fr,
      es: e.ORG_NAME_ES ?? e.ORG_NAME ?? IOM.es,
    },
  };
}

export class ConfigError extends Error {
  readonly code = "HERALD_CONFIG";
}

function describe(value: unknown): string {
  const s = String(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Variables whose value is a secret: an error names them and never shows the value. */
const SECRET_NAME = /SECRET|TOKEN|PASS|PRIVATE|CREDENTIAL|_KEY$/i;

/**
 * How a bad value is shown in an error: secrets as (hidden); a URL with its password masked
 * (SMTP_URL, REDIS_URL carry credentials); a URL that does not parse but might hold one, hidden.
 */
export function shownValue(name: string, value: string | undefined): string {
  if (value === undefined) return "(unset)";
  if (SECRET_NAME.test(name)) return "(hidden)";
  const userinfo = /^([a-z][a-z0-9+.-]*:\/\/)(.*)@([^@]*)$/is.exec(value);
  if (userinfo) return JSON.stringify(describe(`${userinfo[1]}(hidden)@${userinfo[3]}`));
  // A URL variable that does not even parse may still carry user:password: show none of it.
  if (/_URL$/i.test(name) && /@/.test(value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ""))) return "(hidden)";
  return JSON.stringify(describe(value));
}

/** The public base URL when PUBLIC_URL is unset: where this process listens, as a browser would type it. */
export function publicUrlFor(host: string, port: number): string {
  const bare = host.replace(/^\[|\]$/g, "");
  const local = ["127.0.0.1", "0.0.0.0", "localhost", "::", "::1"].includes(bare.toLowerCase());
  const name = local ? "localhost" : bare.includes(":") ? `[${bare}]` : bare;
  return `http://${name}:${port}`;
}

/**
 * The RFC 2919 List-Id when LIST_ID is unset, from MAIL_FROM: its display name (else ORG_NAME)
 * and its address turned into a label, "IOM News <news@iom.int>" -> "IOM News <news.iom.int>".
 */
export function listIdOf(config: Pick<Config, "listId" | "mailFrom" | "orgName">): string {
  if (config.listId) return config.listId;
  const from = config.mailFrom.trim();
  const m = /([^<\s@]+)@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  const local =
    (m?.[1] ?? "news")
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "") || "news";
  const domain = (m?.[2] ?? "localhost").toLowerCase().replace(/^\.+|\.+$/g, "") || "localhost";
  const display = /^\s*"?([^"<]*?)"?\s*</.exec(from)?.[1] || config.orgName;
  const name = display
    .replace(/[<>"\u0000-\u001f\u007f]+/g, " ")
    .trim()
    .slice(0, 100);
  return `${name ? `${name} ` : ""}<${local}.${domain}>`;
}

/** "h1:p1,[::1]:p2" -> [{host, port}], or the reason it is not such a list. */
export function parseHostPorts(s: string, defaultPort?: number): HostPort[] | string {
  const items = s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  if (items.length === 0) return "a comma-separated list of host:port";
  const out: HostPort[] = [];
  for (const item of items) {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+))(?::(\d{1,5}))?$/.exec(item);
    const port = m?.[3] !== undefined ? Number(m[3]) : defaultPort;
    if (!m || port === undefined || port < 1 || port > 65535) {
      return `a comma-separated list of host:port${defaultPort ? ` (port defaults to ${defaultPort})` : ""}; "${describe(item)}" is not one`;
    }
    out.push({ host: m[1] ?? m[2]!, port });
  }
  return out;
}

function redisTarget(e: Env): { redisUrl?: string; redisHa?: RedisHa } {
  const fail = (msg: string): never => {
    throw new ConfigError(`invalid configuration: ${msg}`);
  };
  const sentinelUrl = e.REDIS_URL && /^rediss?\+sentinel:/.test(e.REDIS_URL) ? e.REDIS_URL : undefined;
  const chosen = [
    e.REDIS_URL && "REDIS_URL",
    e.REDIS_CLUSTER_NODES && "REDIS_CLUSTER_NODES",
    e.REDIS_SENTINELS && "REDIS_SENTINELS",
  ].filter(Boolean);
  if (chosen.length > 1) fail(`${chosen.join(" and ")} exclude each other: set one way to reach Redis`);
  if (e.REDIS_SENTINEL_NAME && !e.REDIS_SENTINELS)
    fail("REDIS_SENTINEL_NAME needs REDIS_SENTINELS (host:port of the Sentinels)");
  if ((e.REDIS_SENTINEL_USERNAME || e.REDIS_SENTINEL_PASSWORD) && !e.REDIS_SENTINELS && !sentinelUrl) {
    fail(
      "REDIS_SENTINEL_USERNAME/REDIS_SENTINEL_PASSWORD apply to Sentinels only: set REDIS_SENTINELS or a redis+sentinel:// REDIS_URL",
    );
  }
  const auth: RedisAuth = { username: e.REDIS_USERNAME, password: e.REDIS_PASSWORD };
  const sentinelAuth: RedisAuth = { username: e.REDIS_SENTINEL_USERNAME, password: e.REDIS_SENTINEL_PASSWORD };
  if (e.REDIS_CLUSTER_NODES) {
    if (!/^\{[A-Za-z0-9_.-]+\}$/.test(e.HERALD_PREFIX)) {
      fail(
        `HERALD_PREFIX=${JSON.stringify(describe(e.HERALD_PREFIX))} is not allowed with REDIS_CLUSTER_NODES: on a Redis Cluster the prefix must be one hash tag such as {herald}, so the keys each Lua script and transaction touches share a slot`,
      );
    }
    return { redisHa: { mode: "cluster", nodes: e.REDIS_CLUSTER_NODES, auth, tls: e.REDIS_TLS ?? false } };
  }
  if (e.REDIS_SENTINELS) {
    if (!e.REDIS_SENTINEL_NAME)
      fail("REDIS_SENTINELS needs REDIS_SENTINEL_NAME (the master name the Sentinels monitor, e.g. mymaster)");
    return {
      redisHa: {
        mode: "sentinel",
        sentinels: e.REDIS_SENTINELS,
        name: e.REDIS_SENTINEL_NAME!,
        db: 0,
        auth,
        sentinelAuth,
        tls: e.REDIS_TLS ?? false,
      },
    };
  }
  if (sentinelUrl) {
    const parsed = parseSentinelUrl(sentinelUrl);
    if (typeof parsed === "string")
      fail(`REDIS_URL=${JSON.stringify(redactSentinelUrl(sentinelUrl))} is not allowed: ${parsed}`);
    const p = parsed as Exclude<typeof parsed, string>;
    return {
      redisHa: {
        mode: "sentinel",
        sentinels: p.sentinels,
        name: p.name,
        db: p.db,
        auth: { username: auth.username ?? p.username, password: auth.password ?? p.password },
        sentinelAuth,
        tls: e.REDIS_TLS ?? p.tls,
      },
    };
  }
  if (!e.REDIS_URL) {
    if (e.REDIS_USERNAME || e.REDIS_PASSWORD || e.REDIS_TLS)
      fail("REDIS_USERNAME, REDIS_PASSWORD and REDIS_TLS need REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS");
    return {};
  }
  // A single Redis stays one URL (it is passed to child processes and shown redacted in logs).
  const u = new URL(e.REDIS_URL);
  if (e.REDIS_TLS === true) u.protocol = "rediss:";
  if (e.REDIS_TLS === false && u.protocol === "rediss:") fail("REDIS_TLS=false contradicts the rediss:// REDIS_URL");
  if (e.REDIS_USERNAME) u.username = encodeURIComponent(e.REDIS_USERNAME);
  if (e.REDIS_PASSWORD) u.password = encodeURIComponent(e.REDIS_PASSWORD);
  return { redisUrl: e.REDIS_USERNAME || e.REDIS_PASSWORD || e.REDIS_TLS ? u.toString() : e.REDIS_URL };
}

/**
 * redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/mastername[/db]
 * (rediss+sentinel:// for TLS); Sentinel port defaults to 26379. The credentials are the
 * Redis primary's; Sentinels' own are REDIS_SENTINEL_USERNAME/REDIS_SENTINEL_PASSWORD.
 */
export function parseSentinelUrl(
  s: string,
): { sentinels: HostPort[]; name: string; db: number; username?: string; password?: string; tls: boolean } | string {
  const m = /^(rediss?)\+sentinel:\/\/(?:([^@/]*)@)?([^/?#@]+)\/([^/?#]+)(?:\/(\d{1,2}))?\/?$/.exec(s);
  if (!m) return "the form is redis+sentinel://[:password@]host:26379[,host:26379…]/mastername[/db]";
  const hosts = parseHostPorts(m[3]!, 26379);
  // Not the parser's message: it quotes the bad part, which may be a piece of a password.
  if (typeof hosts === "string")
    return "the Sentinels must be host[:port] separated by commas (port defaults to 26379)";
  const name = decodeURIComponent(m[4]!);
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(name)) return "the master name must be letters, digits, _ . -";
  const db = m[5] === undefined ? 0 : Number(m[5]);
  if (db > 15) return "the database number must be 0-15";
  let username: string | undefined;
  let password: string | undefined;
  if (m[2] !== undefined) {
    const colon = m[2].indexOf(":");
    try {
      username = decodeURIComponent(colon < 0 ? m[2] : m[2].slice(0, colon)) || undefined;
      password = colon < 0 ? undefined : decodeURIComponent(m[2].slice(colon + 1)) || undefined;
    } catch {
      return "the credentials are not valid percent-encoding";
    }
    // "redis+sentinel://secret@host" is a password, as in redis:// URLs that ioredis reads.
    if (colon < 0) [username, password] = [undefined, username];
  }
  return { sentinels: hosts, name, db, username, password, tls: m[1] === "rediss" };
}

/** A sentinel URL with its credentials masked. */
export function redactSentinelUrl(s: string): string {
  // Up to the last "@": a password may hold "/" or "@" that were not percent-encoded.
  return s.replace(/^(rediss?\+sentinel:\/\/).*@/, "$1***@");
}

// The kinds of values ENV_VARIABLES is made of. Declared as functions (hoisted), so the table
// can come first.

function int(min: number, max: number) {
  return z.coerce
    .number({ message: "a whole number" })
    .int("a whole number")
    .min(min, `at least ${min}`)
    .max(max, `at most ${max}`);
}

/** A string whose blank value means unset. */
function optionalString() {
  return z
    .string()
    .transform((s) => s.trim())
    .transform((s) => (s === "" ? undefined : s))
    .optional();
}

function url(protocols: RegExp, what: string) {
  return z
    .string()
    .trim()
    .refine((s) => {
      try {
        return protocols.test(new URL(s).protocol);
      } catch {
        return false;
      }
    }, what);
}

function redisUrl() {
  return z
    .string()
    .trim()
    .refine((s) => {
      try {
        return /^(rediss?|rediss?\+sentinel):$/.test(new URL(s).protocol) || /^rediss?\+sentinel:\/\//.test(s);
      } catch {
        return /^rediss?\+sentinel:\/\//.test(s);
      }
    }, "a redis://, rediss:// or redis+sentinel://host:26379,host:26379/mastername URL");
}

/** Retry delays in seconds, e.g. "0,5,300" (the partner schedule), as milliseconds. */
function secondsList() {
  return z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, "comma-separated seconds, e.g. 0,5,300,1800")
    .transform((s) => s.split(",").map((x) => Math.round(Number(x) * 1000)));
}

/** "300" (seconds), "500ms", "90s", "5m", "1h" -> milliseconds. */
function durationMs(s: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(s)!;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3600_000 }[m[2] ?? "s"]!;
}

function flag() {
  return z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(["1", "0", "true", "false", "yes", "no", "on", "off"], { message: "true or false" }))
    .transform((s) => ["1", "true", "yes", "on"].includes(s));
}

/** "host:port,host:port" (Redis Cluster seed nodes, Sentinels); IPv6 as [::1]:port. */
function hostPortList(defaultPort?: number) {
  return z
    .string()
    .trim()
    .transform((s, ctx) => {
      const out = parseHostPorts(s, defaultPort);
      if (typeof out === "string") {
        ctx.addIssue({ code: "custom", message: out });
        return z.NEVER;
      }
      return out;
    });
}

/** TRUST_PROXY's value (see TrustProxy). */
function trustProxy() {
  return z
    .string()
    .trim()
    .transform((s, ctx): TrustProxy => {
      const lower = s.toLowerCase();
      if (lower === "false" || lower === "0") return false;
      if (lower === "true") return true;
      if (/^\d+$/.test(s)) {
        const n = Number(s);
        if (n <= 100) return n;
      } else {
        const list = s
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean);
        if (list.length && list.every(isAddressOrCidr)) return list;
      }
      ctx.addIssue({
        code: "custom",
        message:
          "false (the default), true, a hop count from 1 to 100, or a comma-separated list of proxy IPs/CIDRs such as 10.0.0.0/8,127.0.0.1 (or loopback, linklocal, uniquelocal)",
      });
      return z.NEVER;
    });
}

/** Address names proxy-addr (Fastify's trustProxy) knows besides IPs and CIDRs. */
const PROXY_NAMES = ["loopback", "linklocal", "uniquelocal"];

/** A dotted-quad IPv4 or an IPv6 address (not ipaddr's shorthands such as "1" for 0.0.0.1). */
const isAddress = (s: string) => (s.includes(":") ? ipaddr.IPv6.isValid(s) : ipaddr.IPv4.isValidFourPartDecimal(s));

function isAddressOrCidr(s: string): boolean {
  if (PROXY_NAMES.includes(s)) return true;
  const [address, bits, ...rest] = s.split("/");
  if (rest.length || !isAddress(address!)) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (address!.includes(":") ? 128 : 32);
}

/** Config for tests and tools: defaults plus the given overrides, no environment read. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const base = loadConfig({});
  const orgNames =
    overrides.orgName && !overrides.orgNames
      ? { en: overrides.orgName, fr: overrides.orgName, es: overrides.orgName }
      : base.orgNames;
  // As loadConfig derives them: the stall interval and the send lease follow a shorter job lock.
  const lockMs = overrides.workerLockMs ?? base.workerLockMs;
  const stalledMs = overrides.workerStalledIntervalMs ?? lockMs;
  const sendLeaseMs = overrides.sendLeaseMs ?? 2 * (lockMs + stalledMs);
  return { ...base, orgNames, workerStalledIntervalMs: stalledMs, sendLeaseMs, ...overrides };
}
