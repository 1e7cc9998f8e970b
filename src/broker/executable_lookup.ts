/**
 * Where a job's `Executable` comes from, decided at submission as JAliEn
 * does (see README "Finding the executable"):
 *
 * 1. a name that is the base name of an `InputFile`: that staged file;
 * 2. an absolute LFN present in the file store (the user's own tree or
 *    the VO's `/bin/`): staged, run by its base name;
 * 3. a relative name: `/<user>/bin/<name>` (the user's `~/bin`), then
 *    `/bin/<name>` (the VO's), the first one present, staged;
 * 4. an absolute path not in the file store: a program on the worker
 *    (e.g. `/bin/sh`), run as is.
 *
 * A relative name found nowhere is refused with every place searched.
 *
 * @module
 */
import type { Expr, JdlAttribute } from "../jdl/ast.ts";
import { JdlError } from "../jdl/error.ts";
import { formatJdl } from "../jdl/format.ts";
import type { JobDescription } from "../jdl/job_description.ts";
import { parseJdl } from "../jdl/parse.ts";
import type { JobStore } from "./store.ts";

function baseName(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

/** May `owner`'s job read `lfn` as a staged program? */
function readable(lfn: string, owner: string): boolean {
  return lfn.startsWith(`/${owner}/`) || lfn.startsWith("/bin/");
}

/**
 * Returns `jd` with its executable resolved: staged programs are added to
 * `InputFile` and run by base name.
 *
 * @throws {JdlError} when a relative name is found nowhere; `position`
 *   gives the line and column of the Executable value.
 */
export async function resolveExecutable(
  jd: JobDescription,
  owner: string,
  store: JobStore,
  position: () => { line: number; column: number },
): Promise<JobDescription> {
  const exe = jd.executable;
  if (jd.inputFile.some((f) => baseName(f) === exe)) return jd;
  let found: string | undefined;
  if (exe.startsWith("/")) {
    if (readable(exe, owner) && await store.getFile(exe)) found = exe;
    if (found === undefined) return jd;
  } else {
    const places = exe.includes("/")
      ? []
      : [`/${owner}/bin/${exe}`, `/bin/${exe}`];
    for (const p of places) {
      if (await store.getFile(p)) {
        found = p;
        break;
      }
    }
    if (found === undefined) {
      const { line, column } = position();
      throw new JdlError(
        line,
        column,
        `expected Executable ${
          JSON.stringify(exe)
        } in the file store, found it nowhere; searched: the InputFile list${
          places.map((p) => `, ${p}`).join("")
        }`,
      );
    }
  }
  return withStagedExecutable(jd, found);
}

function str(value: string): Expr {
  return { kind: "literal", value };
}

/** `jd` running `lfn` by base name, `lfn` added to InputFile. */
function withStagedExecutable(jd: JobDescription, lfn: string): JobDescription {
  const attributes: JdlAttribute[] = [];
  let sawInput = false;
  for (const a of jd.attributes) {
    const key = a.key.toLowerCase();
    if (key === "executable") {
      attributes.push({ key: a.key, value: str(baseName(lfn)) });
    } else if (key === "inputfile") {
      sawInput = true;
      const items = a.value.kind === "list" ? a.value.items : [a.value];
      attributes.push({
        key: a.key,
        value: { kind: "list", items: [...items, str(`LF:${lfn}`)] },
      });
    } else {
      attributes.push(a);
    }
  }
  if (!sawInput) {
    attributes.push({
      key: "InputFile",
      value: { kind: "list", items: [str(`LF:${lfn}`)] },
    });
  }
  return parseJdl(formatJdl({ ...jd, attributes }), { strict: false });
}
