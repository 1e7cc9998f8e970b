const SIZE_UNITS: Record<string, number> = {
  "": 2 ** 20, // ALICE reads plain numbers as MB
  b: 1,
  k: 2 ** 10,
  kb: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mb: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gb: 2 ** 30,
  gib: 2 ** 30,
  t: 2 ** 40,
  tb: 2 ** 40,
  tib: 2 ** 40,
};

const TIME_UNITS: Record<string, number> = {
  "": 1,
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hour: 3600,
  hours: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
};

const AMOUNT = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i;

/**
 * Bytes in a size: a number of MB, or a string such as `"8GB"`, `"500 MB"`,
 * `"2000KB"` (binary multiples; a bare number in a string is MB too).
 * Returns `undefined` for anything else or a result that is not a positive
 * whole number of bytes.
 */
export function parseSize(v: unknown): number | undefined {
  return amount(v, SIZE_UNITS, 2 ** 20);
}

/** Seconds in a duration: a number of seconds, or `"90"`, `"30m"`, `"2h"`, `"1d"`. */
export function parseDuration(v: unknown): number | undefined {
  return amount(v, TIME_UNITS, 1);
}

function amount(
  v: unknown,
  units: Record<string, number>,
  numberUnit: number,
): number | undefined {
  let n: number;
  if (typeof v === "number") {
    n = v * numberUnit;
  } else if (typeof v === "string") {
    const m = AMOUNT.exec(v);
    const unit = m?.[2].toLowerCase() ?? "";
    if (m === null || !Object.hasOwn(units, unit)) return undefined;
    n = Number(m[1]) * units[unit];
  } else {
    return undefined;
  }
  n = Math.round(n);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}
