import { assertEquals } from "@std/assert";
import { parseRuntimeVersion, versionFlags } from "./runtime_version.ts";

Deno.test("runtime version: parses what each version prints", () => {
  const cases: [string, "singularity" | "apptainer", string, number, number][] =
    [
      ["2.6.1-dist\n", "singularity", "singularity", 2, 6],
      ["singularity version 3.8.7", "singularity", "singularity", 3, 8],
      [
        "singularity-ce version 4.1.0-jammy",
        "singularity",
        "singularity",
        4,
        1,
      ],
      ["apptainer version 1.2.5", "apptainer", "apptainer", 1, 2],
      // apptainer installs a `singularity` symlink to itself
      ["apptainer version 1.3.0", "singularity", "apptainer", 1, 3],
    ];
  for (const [out, name, flavor, major, minor] of cases) {
    const v = parseRuntimeVersion(out, name);
    assertEquals([v.flavor, v.major, v.minor], [flavor, major, minor], out);
  }
});

Deno.test("runtime version: env prefix and network flags by version", () => {
  const f = (out: string, name: "singularity" | "apptainer") =>
    versionFlags(parseRuntimeVersion(out, name));
  assertEquals(f("2.6.1-dist", "singularity"), {
    envPrefix: "SINGULARITYENV_",
    networkNone: ["--net"],
  });
  assertEquals(f("singularity version 3.11.4", "singularity"), {
    envPrefix: "SINGULARITYENV_",
    networkNone: ["--net", "--network", "none"],
  });
  assertEquals(f("apptainer version 1.2.5", "apptainer"), {
    envPrefix: "APPTAINERENV_",
    networkNone: ["--net", "--network", "none"],
  });
});
