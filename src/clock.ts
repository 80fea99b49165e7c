// Time is a dependency (pg-boss clock.ts): code asks the clock, tests hand in a fixed one.
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function fixedClock(start: number | string): Clock & { set(t: number | string): void; advance(ms: number): void } {
  let t = typeof start === "string" ? Date.parse(start) : start;
  return {
    now: () => t,
    set: (v) => {
      t = typeof v === "string" ? Date.parse(v) : v;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}
