/**
 * Local stand-in for `jsr:@std/assert`, built on `node:assert/strict`.
 *
 * JSR is not reachable from our machines, so `deno.json` maps `@std/assert`
 * here. Only the names this project uses are provided, with the same
 * signatures as the std module, so pointing the alias back at `jsr:` works
 * without touching any test.
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Error thrown by every assertion here (same name as std's). */
export class AssertionError extends Error {
  /**
   * @param message the assertion's message, with the difference when known.
   */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

function wrap(fn: () => void, msg?: string): void {
  try {
    fn();
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    throw new AssertionError(msg ? `${msg}: ${text}` : text);
  }
}

/** Asserts that `expr` is truthy. */
export function assert(
  expr: unknown,
  msg = "Expected value to be truthy",
): asserts expr {
  if (!expr) throw new AssertionError(msg);
}

/** Asserts deep equality of `actual` and `expected`. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  wrap(() => nodeAssert.deepStrictEqual(actual, expected), msg);
}

/** Asserts deep inequality of `actual` and `expected`. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  wrap(() => nodeAssert.notDeepStrictEqual(actual, expected), msg);
}

/** Asserts `Object.is` equality. */
export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  wrap(() => nodeAssert.strictEqual(actual, expected), msg);
}

/** Asserts that `actual` is neither `null` nor `undefined`. */
export function assertExists<T>(
  actual: T,
  msg?: string,
): asserts actual is NonNullable<T> {
  if (actual === null || actual === undefined) {
    throw new AssertionError(
      msg ?? `Expected actual: "${actual}" to not be null or undefined`,
    );
  }
}

/** Asserts that `actual` matches the regular expression. */
export function assertMatch(
  actual: string,
  expected: RegExp,
  msg?: string,
): void {
  wrap(() => nodeAssert.match(actual, expected), msg);
}

/** Asserts that `actual` does not match the regular expression. */
export function assertNotMatch(
  actual: string,
  expected: RegExp,
  msg?: string,
): void {
  wrap(() => nodeAssert.doesNotMatch(actual, expected), msg);
}

/** Asserts that `actual` contains `expected`. */
export function assertStringIncludes(
  actual: string,
  expected: string,
  msg?: string,
): void {
  if (!actual.includes(expected)) {
    throw new AssertionError(
      msg ?? `Expected actual: "${actual}" to contain: "${expected}"`,
    );
  }
}

/** Asserts that every item of `expected` is (deeply) in `actual`. */
export function assertArrayIncludes<T>(
  actual: ArrayLike<T>,
  expected: ArrayLike<T>,
  msg?: string,
): void {
  const have = Array.from(actual);
  for (const want of Array.from(expected)) {
    if (!have.some((h) => isDeepEqual(h, want))) {
      throw new AssertionError(
        msg ?? `Expected array to include ${JSON.stringify(want)}`,
      );
    }
  }
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    nodeAssert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/** Asserts `actual > expected`. */
export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual > expected)) {
    throw new AssertionError(msg ?? `Expected ${actual} > ${expected}`);
  }
}

/** Asserts `actual >= expected`. */
export function assertGreaterOrEqual<T>(
  actual: T,
  expected: T,
  msg?: string,
): void {
  if (!(actual >= expected)) {
    throw new AssertionError(msg ?? `Expected ${actual} >= ${expected}`);
  }
}

/** Asserts `actual < expected`. */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual < expected)) {
    throw new AssertionError(msg ?? `Expected ${actual} < ${expected}`);
  }
}

/** Asserts `actual <= expected`. */
export function assertLessOrEqual<T>(
  actual: T,
  expected: T,
  msg?: string,
): void {
  if (!(actual <= expected)) {
    throw new AssertionError(msg ?? `Expected ${actual} <= ${expected}`);
  }
}

/** Asserts that `actual` is an instance of `expectedType`. */
export function assertInstanceOf<
  T extends abstract new (...args: never[]) => unknown,
>(
  actual: unknown,
  expectedType: T,
  msg?: string,
): asserts actual is InstanceType<T> {
  if (!(actual instanceof expectedType)) {
    throw new AssertionError(
      msg ?? `Expected object to be an instance of "${expectedType.name}"`,
    );
  }
}

/** Always fails. */
export function fail(msg?: string): never {
  throw new AssertionError(
    msg ? `Failed assertion: ${msg}` : "Failed assertion.",
  );
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

function checkError<E extends Error>(
  err: unknown,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
): E {
  if (ErrorClass && !(err instanceof ErrorClass)) {
    const got = err instanceof Error
      ? `${err.name}: ${err.message}`
      : String(err);
    throw new AssertionError(
      `Expected error to be instance of "${ErrorClass.name}", but got ${got}`,
    );
  }
  if (msgIncludes !== undefined) {
    const text = err instanceof Error ? err.message : String(err);
    if (!text.includes(msgIncludes)) {
      throw new AssertionError(
        `Expected error message to include "${msgIncludes}", but got "${text}"`,
      );
    }
  }
  return err as E;
}

/** Asserts that `fn` throws; returns the error. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
): E {
  try {
    fn();
  } catch (e) {
    return checkError(e, ErrorClass, msgIncludes);
  }
  throw new AssertionError("Expected function to throw.");
}

/** Asserts that `fn` returns a rejecting promise; returns the error. */
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass?: ErrorClass<E>,
  msgIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    return checkError(e, ErrorClass, msgIncludes);
  }
  throw new AssertionError("Expected function to reject.");
}
