import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { ImageError, parseImageRef, SoftwareDir } from "./software_dir.ts";

async function tree() {
  const root = await Deno.makeTempDir();
  for (
    const v of ["el9/20240101T000000Z", "el9/20240201T000000Z", "default/v1"]
  ) {
    for (const m of ["workdir", "opt/splitpilot"]) {
      await Deno.mkdir(`${root}/containers/${v}/${m}`, { recursive: true });
    }
  }
  await Deno.symlink("20240201T000000Z", `${root}/containers/el9/latest`);
  await Deno.symlink("v1", `${root}/containers/default/latest`);
  await Deno.writeTextFile(`${root}/containers/el9/file`, "x");
  return root;
}

Deno.test("software dir: image refs", () => {
  assertEquals(parseImageRef("el9"), { name: "el9", tag: "latest" });
  assertEquals(parseImageRef("alice/el9:2024-01"), {
    name: "alice/el9",
    tag: "2024-01",
  });
  for (
    const bad of ["", "../x", "a/../b", "/abs", "a:", "a:b:c", "a b", ".hidden"]
  ) {
    assertThrows(() => parseImageRef(bad), ImageError, "expected name[:tag]");
  }
});

Deno.test("software dir: resolve pins latest, tags, default, host rootfs", async () => {
  const root = await tree();
  try {
    const sw = new SoftwareDir(`${root}/`);
    const real = await Deno.realPath(root);
    assertEquals(sw.setupScript, `${root}/etc/setup.sh`);
    assertEquals(await sw.hasSetup(), false);
    assertEquals(await sw.resolve("el9"), {
      name: "el9",
      version: "20240201T000000Z",
      dir: `${real}/containers/el9/20240201T000000Z`,
      ref: "el9",
    });
    assertEquals(
      (await sw.resolve("el9:20240101T000000Z"))?.version,
      "20240101T000000Z",
    );
    assertEquals((await sw.resolve())?.dir, `${real}/containers/default/v1`);
    const none = new SoftwareDir(root, { defaultImage: "nothing" });
    assertEquals(await none.resolve(), undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("software dir: missing, broken and non-directory images", async () => {
  const root = await tree();
  try {
    const sw = new SoftwareDir(root);
    await assertRejects(
      () => sw.resolve("nosuch"),
      ImageError,
      `image nosuch not found: ${root}/containers/nosuch/latest does not exist`,
    );
    await assertRejects(
      () => sw.resolve("el9:file"),
      ImageError,
      "is not a directory rootfs",
    );
    await Deno.mkdir(`${root}/containers/empty/v1`, { recursive: true });
    await Deno.symlink("v1", `${root}/containers/empty/latest`);
    await assertRejects(
      () => sw.resolve("empty"),
      ImageError,
      "image empty is not usable: it has no /workdir",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
