import { describe, expect, it } from "vitest";
import { ConfigError, listIdOf, loadConfig } from "../../src/config/index.ts";

describe("config", () => {
  it("has working defaults with an empty environment", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      prefix: "herald",
      port: 3000,
      publicUrl: "http://localhost:3000",
      digestHour: 8,
      weeklyDigestDay: "monday",
      defaultTimezone: "UTC",
      outboxDir: "var/outbox",
    });
    expect(c.partnerRetrySchedule).toEqual(
      [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400].map((s) => s * 1000),
    );
  });

  it("keeps the outbox under VAR_DIR unless OUTBOX_DIR says otherwise", () => {
    expect(loadConfig({ VAR_DIR: "/srv/herald" }).outboxDir).toBe("/srv/herald/outbox");
    expect(loadConfig({ VAR_DIR: "/srv/herald", OUTBOX_DIR: "/mail" }).outboxDir).toBe("/mail");
  });

  it("names the variable, the value and what is allowed", () => {
    expect(() => loadConfig({ PORT: "eighty" })).toThrow(/PORT="eighty" is not allowed: a whole number/);
    expect(() => loadConfig({ DIGEST_HOUR: "25" })).toThrow(/DIGEST_HOUR="25" is not allowed: at most 23/);
    expect(() => loadConfig({ DEFAULT_TIMEZONE: "Mars/Olympus" })).toThrow(/DEFAULT_TIMEZONE="Mars\/Olympus".*IANA/);
    expect(() => loadConfig({ REDIS_URL: "http://x" })).toThrow(ConfigError);
    expect(() => loadConfig({ WEEKLY_DIGEST_DAY: "someday" })).toThrow(/WEEKLY_DIGEST_DAY.*monday/);
  });

  it("lists every bad variable at once", () => {
    try {
      loadConfig({ PORT: "-1", PUBLIC_URL: "ftp://x" });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/PORT/);
      expect((err as Error).message).toMatch(/PUBLIC_URL/);
    }
  });

  it("accepts good values and trims the public URL", () => {
    const c = loadConfig({
      PUBLIC_URL: "https://news.example.org/",
      DIGEST_HOUR: "7",
      WEEKLY_DIGEST_DAY: "Friday",
      PARTNER_RETRY_SCHEDULE: "0,0.05,0.1",
    });
    expect(c.publicUrl).toBe("https://news.example.org");
    expect(c.weeklyDigestDay).toBe("friday");
    expect(c.partnerRetrySchedule).toEqual([0, 50, 100]);
  });

  it("expires pending readers after PENDING_EXPIRY_DAYS (7 by default, 1-365)", () => {
    expect(loadConfig({}).pendingExpiryDays).toBe(7);
    expect(loadConfig({ PENDING_EXPIRY_DAYS: "30" }).pendingExpiryDays).toBe(30);
    expect(() => loadConfig({ PENDING_EXPIRY_DAYS: "0" })).toThrow(
      /PENDING_EXPIRY_DAYS="0" is not allowed: at least 1/,
    );
    expect(() => loadConfig({ PENDING_EXPIRY_DAYS: "1.5" })).toThrow(
      /PENDING_EXPIRY_DAYS="1.5" is not allowed: a whole number/,
    );
  });

  it("derives the stall interval and the send lease from the job lock, and checks them", () => {
    expect(loadConfig({})).toMatchObject({
      workerLockMs: 30_000,
      workerStalledIntervalMs: 30_000,
      sendLeaseMs: 120_000,
    });
    expect(loadConfig({ WORKER_LOCK_MS: "3000" })).toMatchObject({
      workerStalledIntervalMs: 3000,
      sendLeaseMs: 12_000,
    });
    expect(
      loadConfig({ WORKER_LOCK_MS: "3000", WORKER_STALLED_INTERVAL_MS: "5000", SEND_LEASE_MS: "7000" }),
    ).toMatchObject({ workerStalledIntervalMs: 5000, sendLeaseMs: 7000 });
    expect(() => loadConfig({ WORKER_STALLED_INTERVAL_MS: "10" })).toThrow(
      /WORKER_STALLED_INTERVAL_MS="10" is not allowed: at least 1000/,
    );
    // A lease shorter than two job locks runs out while BullMQ still thinks the worker is alive.
    expect(() => loadConfig({ WORKER_LOCK_MS: "30000", SEND_LEASE_MS: "40000" })).toThrow(
      /SEND_LEASE_MS=40000 is not allowed: at least twice WORKER_LOCK_MS \(60000\)/,
    );
  });

  it("wants the three DKIM variables together", () => {
    expect(() => loadConfig({ DKIM_DOMAIN: "example.org" })).toThrow(/DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY/);
  });
});

describe("LIST_ID and ALERT_TRANSLATION_WAIT", () => {
  it("derives the List-Id from MAIL_FROM unless LIST_ID is set; refuses one that is not RFC 2919", () => {
    expect(listIdOf(loadConfig({ MAIL_FROM: "IOM News <news@iom.int>" }))).toBe("IOM News <news.iom.int>");
    expect(listIdOf(loadConfig({ MAIL_FROM: "press.office@iom.int", ORG_NAME: "OIM" }))).toBe(
      "OIM <press-office.iom.int>",
    );
    expect(listIdOf(loadConfig({ LIST_ID: "IOM newsroom <news.iom.int>" }))).toBe("IOM newsroom <news.iom.int>");
    expect(listIdOf(loadConfig({ LIST_ID: "<news.iom.int>" }))).toBe("<news.iom.int>");
    for (const bad of ["news.iom.int", "IOM <news>", "IOM <a b.c>", "IOM\r\nBcc: x <a.b>"]) {
      expect(() => loadConfig({ LIST_ID: bad }), bad).toThrow(/LIST_ID=.* is not allowed: a list id as in RFC 2919/);
    }
  });

  it("reads the translation wait in seconds or with a unit; default five minutes", () => {
    expect(loadConfig({}).alertTranslationWaitMs).toBe(300_000);
    expect(loadConfig({ ALERT_TRANSLATION_WAIT: "90" }).alertTranslationWaitMs).toBe(90_000);
    expect(loadConfig({ ALERT_TRANSLATION_WAIT: "500ms" }).alertTranslationWaitMs).toBe(500);
    expect(loadConfig({ ALERT_TRANSLATION_WAIT: "10m" }).alertTranslationWaitMs).toBe(600_000);
    expect(loadConfig({ ALERT_TRANSLATION_WAIT: "0" }).alertTranslationWaitMs).toBe(0);
    expect(() => loadConfig({ ALERT_TRANSLATION_WAIT: "5 minutes" })).toThrow(
      /ALERT_TRANSLATION_WAIT="5 minutes" is not allowed: a duration/,
    );
    expect(() => loadConfig({ ALERT_TRANSLATION_WAIT: "25h" })).toThrow(
      /ALERT_TRANSLATION_WAIT="25h" is not allowed: at most 24h/,
    );
  });
});
