/**
 * Writes a token directory (`cert.pem`, `key.pem` 0600, `ca.pem`), the
 * form agents, CLI users and startup scripts read tokens in.
 *
 * @module
 */

/** Writes `dir/{cert,key,ca}.pem`; the key is created 0600. */
export async function writeTokenDir(
  dir: string,
  token: { certPem: string; keyPem: string },
  caPem: string,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(`${dir}/cert.pem`, token.certPem);
  await Deno.writeTextFile(`${dir}/key.pem`, token.keyPem, { mode: 0o600 });
  await Deno.chmod(`${dir}/key.pem`, 0o600);
  await Deno.writeTextFile(`${dir}/ca.pem`, caPem);
}
