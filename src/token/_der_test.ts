import { assertEquals, assertThrows } from "@std/assert";
import {
  namedBits,
  oid,
  readOid,
  readTime,
  readTlv,
  readUint,
  time,
  uintBytes,
} from "./_der.ts";
import { TokenError } from "./token_error.ts";

const hex = (b: Uint8Array) => b.toHex();
const unhex = (s: string) => Uint8Array.fromHex(s);

Deno.test("der: OIDs encode and decode", () => {
  for (
    const o of [
      "1.2.840.10045.4.3.2",
      "2.5.4.3",
      "0.9.2342.19200300.100.1.1",
      "2.999.1",
    ]
  ) {
    const der = oid(o);
    assertEquals(readOid(der, readTlv(der, 0, der.length)), o);
  }
  assertEquals(hex(oid("1.2.840.10045.2.1")), "06072a8648ce3d0201");
});

Deno.test("der: INTEGERs are minimal and positive", () => {
  assertEquals(hex(uintBytes(unhex("00007f"))), "02017f");
  assertEquals(hex(uintBytes(unhex("80"))), "02020080");
  assertEquals(hex(uintBytes(unhex("0000"))), "020100");
  const neg = unhex("0201ff");
  assertThrows(
    () => readUint(neg, readTlv(neg, 0, 3), "n"),
    TokenError,
    "negative",
  );
  const padded = unhex("0202007f");
  assertThrows(
    () => readUint(padded, readTlv(padded, 0, 4), "n"),
    TokenError,
    "non-minimal",
  );
  const ok = unhex("02020080");
  assertEquals(hex(readUint(ok, readTlv(ok, 0, 4), "n")), "80");
});

Deno.test("der: times switch from UTCTime to GeneralizedTime in 2050", () => {
  const cases: [string, string][] = [
    ["2049-12-31T23:59:59Z", "170d3439313233313233353935395a"],
    ["2050-01-01T00:00:00Z", "180f32303530303130313030303030305a"],
    ["1999-06-01T12:00:00Z", "170d3939303630313132303030305a"],
  ];
  for (const [iso, der] of cases) {
    assertEquals(hex(time(new Date(iso))), der);
    const b = unhex(der);
    assertEquals(
      readTime(b, readTlv(b, 0, b.length)).toISOString(),
      new Date(iso).toISOString(),
    );
  }
  for (
    const bad of [
      "170d3439313333313233353935395a",
      "170b343931323331323335395a",
    ]
  ) {
    const b = unhex(bad);
    assertThrows(() => readTime(b, readTlv(b, 0, b.length)), TokenError);
  }
});

Deno.test("der: lengths must be definite, minimal and in bounds", () => {
  assertThrows(() => readTlv(unhex("3080"), 0, 2), TokenError, "indefinite");
  assertThrows(
    () => readTlv(unhex("30810100"), 0, 4),
    TokenError,
    "non-minimal",
  );
  assertThrows(() => readTlv(unhex("3005"), 0, 2), TokenError, "runs past");
  assertThrows(
    () => readTlv(unhex("1f01"), 0, 2),
    TokenError,
    "multi-byte tag",
  );
  const long = new Uint8Array(3 + 200);
  long.set([0x04, 0x81, 200]);
  assertEquals(readTlv(long, 0, long.length).value, 3);
});

Deno.test("der: named bit lists drop trailing zero bits", () => {
  assertEquals(hex(namedBits([0])), "03020780");
  assertEquals(hex(namedBits([0, 2])), "030205a0");
  assertEquals(hex(namedBits([5, 6])), "03020106");
});
