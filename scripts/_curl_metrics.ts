/**
 * `GET /metrics` the way an operator's scraper does it: `curl` with an
 * admin token's certificate and key, so the demos show the real path.
 *
 * @module
 */

/** What `curl` printed and whether it succeeded (a failed spawn included). */
export interface CurlResult {
  /** curl exited 0 (`--fail`: an HTTP error is a failure too). */
  success: boolean;
  /** The metrics text. */
  text: string;
  /** curl's error, or why it could not run. */
  error: string;
}

/**
 * Fetches `${url}/metrics` with the token in `tokenDir` (ca.pem, cert.pem,
 * key.pem).
 *
 * @example
 * ```ts ignore
 * const m = await curlMetrics("https://127.0.0.1:8443", "/tmp/admin-token");
 * if (m.success) console.log(m.text);
 * ```
 */
export async function curlMetrics(
  url: string,
  tokenDir: string,
): Promise<CurlResult> {
  const dec = new TextDecoder();
  try {
    const out = await new Deno.Command("curl", {
      args: [
        "--silent",
        "--show-error",
        "--fail",
        "--cacert",
        `${tokenDir}/ca.pem`,
        "--cert",
        `${tokenDir}/cert.pem`,
        "--key",
        `${tokenDir}/key.pem`,
        `${url}/metrics`,
      ],
      stdin: "null",
    }).output();
    return {
      success: out.success,
      text: dec.decode(out.stdout),
      error: dec.decode(out.stderr).trim(),
    };
  } catch (e) {
    return { success: false, text: "", error: (e as Error).message };
  }
}
