/**
 * PEM ↔ DER conversion and reading PEM files with one-line errors.
 *
 * @module
 */
import { readTlv, TAG } from "./_der.ts";
import { TokenError } from "./token_error.ts";

const BLOCK_RE =
  /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)\r?\n?-----END \1-----/g;

interface PemBlock {
  label: string;
  der: Uint8Array;
}

function decodeBody(body: string): Uint8Array | undefined {
  const clean = body.replace(/\s+/g, "");
  if (clean === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(clean)) return undefined;
  try {
    return Uint8Array.fromBase64(clean);
  } catch {
    return undefined;
  }
}

function isOneSequence(der: Uint8Array): boolean {
  try {
    const t = readTlv(der, 0, der.length);
    return t.tag === TAG.SEQUENCE && t.end === der.length;
  } catch {
    return false;
  }
}

/** All PEM blocks in a text, in order; bodies that do not decode throw. */
function blocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK_RE)) {
    const der = decodeBody(m[2]);
    if (!der || !isOneSequence(der)) {
      throw new TokenError(
        "malformed",
        `the PEM ${m[1]} block does not contain valid base64 DER`,
      );
    }
    out.push({ label: m[1], der });
  }
  return out;
}

/**
 * Decodes the first PEM block of a text to DER.
 *
 * @throws {TokenError} `malformed` if there is no PEM block or it is not
 * base64-encoded DER.
 *
 * @example
 * ```ts
 * import { derToPem, pemToDer } from "./pem.ts";
 * const der = pemToDer(derToPem(new Uint8Array([0x30, 0]), "CERTIFICATE"));
 * // der: Uint8Array [0x30, 0]
 * ```
 */
export function pemToDer(pem: string): Uint8Array {
  const [first] = blocks(pem);
  if (!first) {
    throw new TokenError(
      "malformed",
      "expected a PEM block (-----BEGIN …----- … -----END …-----)",
    );
  }
  return first.der;
}

/**
 * Encodes DER as PEM with the given label (`CERTIFICATE`, `PRIVATE KEY`),
 * 64 base64 characters a line, ending in a newline.
 */
export function derToPem(der: Uint8Array, label: string): string {
  const b64 = der.toBase64();
  let body = "";
  for (let i = 0; i < b64.length; i += 64) {
    body += b64.slice(i, i + 64) + "\n";
  }
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/**
 * Finds the first PEM block with `kind` in a text and returns it,
 * normalised. Used by {@link readPemFile}; `source` names the text in
 * error messages.
 */
export function pemBlock(
  text: string,
  kind: "CERTIFICATE" | "PRIVATE KEY",
  source: string,
): string {
  let all: PemBlock[];
  try {
    all = blocks(text);
  } catch (e) {
    throw new TokenError("malformed", `${source}: ${(e as Error).message}`);
  }
  const found = all.find((b) => b.label === kind);
  if (found) return derToPem(found.der, kind);
  const others = all.map((b) => b.label);
  const hint = kind === "PRIVATE KEY" &&
      others.some((l) => l.endsWith("PRIVATE KEY"))
    ? " (convert it to PKCS#8: openssl pkcs8 -topk8 -nocrypt)"
    : "";
  throw new TokenError(
    "malformed",
    `${source}: expected a PEM ${kind} block${
      others.length ? `, found ${others.join(", ")}${hint}` : ""
    }`,
  );
}

/**
 * Reads a file and returns its first PEM block of the given kind,
 * normalised (`-----BEGIN <kind>-----`, 64-column base64, final newline).
 * Private keys must be PKCS#8 (`PRIVATE KEY`).
 *
 * @throws {TokenError} `unreadable` if the file cannot be read, `malformed`
 * (`"<path>: expected a PEM CERTIFICATE block"`) if it holds no such block.
 */
export async function readPemFile(
  path: string,
  kind: "CERTIFICATE" | "PRIVATE KEY",
): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : e instanceof Deno.errors.IsADirectory
      ? "is a directory"
      : (e as Error).message;
    throw new TokenError("unreadable", `${path}: cannot read: ${why}`);
  }
  return pemBlock(text, kind, path);
}
