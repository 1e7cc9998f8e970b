import { assertEquals, assertThrows } from "@std/assert";
import { parseDuration } from "./duration.ts";
import { TokenError } from "./token_error.ts";

Deno.test("parseDuration: units and plain seconds", () => {
  assertEquals(parseDuration("90s"), 90);
  assertEquals(parseDuration("30m"), 1800);
  assertEquals(parseDuration("12h"), 43200);
  assertEquals(parseDuration("7d"), 604800);
  assertEquals(parseDuration("2w"), 1209600);
  assertEquals(parseDuration("3600"), 3600);
  assertEquals(parseDuration("1h30m"), 5400);
  assertEquals(parseDuration(" 12H "), 43200);
});

Deno.test("parseDuration: bad text gets a clear error", () => {
  for (
    const [text, why] of [
      ["", "unrecognised format"],
      ["12x", "unrecognised format"],
      ["-5m", "unrecognised format"],
      ["1.5h", "unrecognised format"],
      ["0", "must be positive"],
      ["0h", "must be positive"],
      ["30m1h", "largest to smallest"],
      ["1h30", "needs a unit"],
      ["99999999999999999999", "too large"],
    ]
  ) {
    const e = assertThrows(() => parseDuration(text), TokenError, why);
    assertEquals(e.reason, "invalid_input");
    assertEquals(e.message.includes(`"${text}"`), true);
  }
});
