import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { derToPem, pemToDer, readPemFile } from "./pem.ts";
import { TokenError } from "./token_error.ts";

const DER = Uint8Array.from({ length: 100 }, (_, i) => i);
DER.set([0x30, 98]);

Deno.test("pem: DER round-trips through PEM with 64-column lines", () => {
  const pem = derToPem(DER, "CERTIFICATE");
  const lines = pem.split("\n");
  assertEquals(lines[0], "-----BEGIN CERTIFICATE-----");
  assertEquals(lines[1].length, 64);
  assertEquals(lines.at(-2), "-----END CERTIFICATE-----");
  assertEquals(pemToDer(pem), DER);
  assertEquals(pemToDer("junk before\r\n" + pem.replaceAll("\n", "\r\n")), DER);
});

Deno.test("pem: no block or a broken body is malformed", () => {
  for (
    const text of [
      "",
      "hello",
      "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
      "-----BEGIN CERTIFICATE-----\nMAA=\n-----END PRIVATE KEY-----\n",
    ]
  ) {
    const e = assertThrows(() => pemToDer(text), TokenError);
    assertEquals(e.reason, "malformed");
  }
});

Deno.test("readPemFile: finds the block or names the file and what was expected", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cert = derToPem(DER, "CERTIFICATE");
    const key = derToPem(DER, "PRIVATE KEY");
    await Deno.writeTextFile(`${dir}/both.pem`, "comment\n" + key + cert);
    assertEquals(await readPemFile(`${dir}/both.pem`, "CERTIFICATE"), cert);
    assertEquals(await readPemFile(`${dir}/both.pem`, "PRIVATE KEY"), key);

    await Deno.writeTextFile(`${dir}/text.pem`, "not pem\n");
    let e = await assertRejects(
      () => readPemFile(`${dir}/text.pem`, "CERTIFICATE"),
      TokenError,
    );
    assertEquals(
      [e.reason, e.message],
      ["malformed", `${dir}/text.pem: expected a PEM CERTIFICATE block`],
    );

    await Deno.writeTextFile(`${dir}/ec.pem`, derToPem(DER, "EC PRIVATE KEY"));
    e = await assertRejects(
      () => readPemFile(`${dir}/ec.pem`, "PRIVATE KEY"),
      TokenError,
      "expected a PEM PRIVATE KEY block, found EC PRIVATE KEY (convert it to PKCS#8",
    );

    e = await assertRejects(
      () => readPemFile(`${dir}/missing.pem`, "CERTIFICATE"),
      TokenError,
      `${dir}/missing.pem: cannot read: no such file`,
    );
    assertEquals(e.reason, "unreadable");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
