import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  ArtefactStore,
  publishArtefacts,
  publishedSha256,
} from "./artefact_store.ts";

async function hex(data: string): Promise<string> {
  const d = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(data),
  );
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

Deno.test("ArtefactStore: plain names only, no symlinks, sha-256 of the current version", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.run`, "one");
    await Deno.symlink("/etc/hostname", `${dir}/link.run`);
    const store = new ArtefactStore(dir);
    const a = await store.open("a.run");
    assertEquals(await new Response(a!.body).text(), "one");
    assertEquals(a!.sha256, await hex("one"));
    for (const bad of ["link.run", "../a.run", ".hidden", "x/y", "nope"]) {
      assertEquals(await store.open(bad), undefined, bad);
    }
    await Deno.writeTextFile(`${dir}/a.run`, "two!");
    const b = await store.open("a.run");
    await b!.body.cancel();
    assertEquals(b!.sha256, await hex("two!"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("publishArtefacts: copies checked artefacts; a wrong checksum is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/dist`);
    await Deno.writeTextFile(`${dir}/dist/splitpilot-agent.run`, "agent");
    await Deno.writeTextFile(
      `${dir}/dist/splitpilot-agent.run.sha256`,
      `${await hex("agent")}  splitpilot-agent.run\n`,
    );
    const out = await publishArtefacts(`${dir}/dist`, `${dir}/state`);
    assertEquals(out.map((a) => a.name), ["splitpilot-agent.run"]);
    assertEquals(
      await publishedSha256(`${dir}/state`, "splitpilot-agent.run"),
      await hex("agent"),
    );
    await Deno.writeTextFile(`${dir}/dist/splitpilot-agent.run`, "changed");
    await assertRejects(
      () => publishArtefacts(`${dir}/dist`, `${dir}/state`),
      Error,
      "does not match",
    );
    await assertRejects(
      () => publishedSha256(`${dir}/state`, "splitpilot-wrapper.run"),
      Error,
      "is not published",
    );
    assert(ArtefactStore.validName("splitpilot-agent.run"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
