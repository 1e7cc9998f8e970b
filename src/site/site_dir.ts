/**
 * Prepares a site work dir for a built agent by hand (what the startup
 * script does in sh): the token in `W/token/` and the packed wrapper at
 * `W/splitpilot-wrapper.run`, see `src/build/site_layout.ts`.
 *
 * @module
 */
import { siteLayout } from "../build/site_layout.ts";

/** Inputs of {@link prepareSiteDir}. */
export interface SiteDirInput {
  /** A token dir (`cert.pem`, `key.pem`, `ca.pem`) to copy. */
  tokenDir: string;
  /** The packed wrapper artefact to copy. */
  wrapperArtefact: string;
}

/** Creates `dir` (0700) with the token and the wrapper; returns its layout. */
export async function prepareSiteDir(
  dir: string,
  input: SiteDirInput,
): Promise<ReturnType<typeof siteLayout>> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const l = siteLayout(await Deno.realPath(dir));
  await Deno.mkdir(l.tokenDir, { recursive: true, mode: 0o700 });
  for (const f of ["cert.pem", "key.pem", "ca.pem"]) {
    await Deno.copyFile(`${input.tokenDir}/${f}`, `${l.tokenDir}/${f}`);
    await Deno.chmod(`${l.tokenDir}/${f}`, 0o600);
  }
  await Deno.copyFile(input.wrapperArtefact, l.wrapperArtefact);
  await Deno.chmod(l.wrapperArtefact, 0o700);
  return l;
}
