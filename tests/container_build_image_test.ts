/**
 * The image builder: mount points, the atomic `latest` switch, pruning,
 * a failed build leaving nothing behind, and the real debootstrap image
 * (the cached one the other container tests use).
 */
import { assertEquals, assertMatch, assertRejects } from "@std/assert";
import {
  buildImage,
  IMAGE_MOUNT_DIRS,
  IMAGE_MOUNT_FILES,
  ImageBuildError,
  pruneImages,
  switchLatest,
  versionName,
} from "../scripts/build_image.ts";
import { SoftwareDir } from "../src/container/software_dir.ts";
import { cachedImage, needsImage } from "./_software.ts";

Deno.test("build_image: version names sort by time", () => {
  assertEquals(
    versionName(new Date("2024-01-02T03:04:05.678Z")),
    "20240102T030405Z",
  );
});

Deno.test("build_image: latest switches atomically and older versions are pruned", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const v of ["20240101T000000Z", "20240201T000000Z", "20240301T000000Z"]
    ) {
      await Deno.mkdir(`${dir}/${v}`);
    }
    await switchLatest(dir, "20240201T000000Z");
    assertEquals(await Deno.readLink(`${dir}/latest`), "20240201T000000Z");
    // A reader resolving `latest` throughout the switch never misses it.
    let misses = 0;
    let reading = true;
    const reader = (async () => {
      while (reading) {
        await Deno.stat(`${dir}/latest`).catch(() => misses++);
        await new Promise((r) => setTimeout(r, 0));
      }
    })();
    for (let i = 0; i < 50; i++) {
      await switchLatest(dir, i % 2 ? "20240301T000000Z" : "20240201T000000Z");
    }
    reading = false;
    await reader;
    assertEquals(misses, 0);
    await switchLatest(dir, "20240201T000000Z");
    // keep 1: the newest (20240301) stays, and so does the one latest names.
    assertEquals(await pruneImages(dir, 1), ["20240101T000000Z"]);
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assertEquals(left.sort(), [
      "20240201T000000Z",
      "20240301T000000Z",
      "latest",
    ]);
    await assertRejects(
      () => switchLatest(dir, "nope"),
      ImageBuildError,
      "is not a directory",
    );
    await assertRejects(
      () => switchLatest(dir, "../x"),
      ImageBuildError,
      "plain directory name",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("build_image: a failed debootstrap leaves latest and the dir as they were", async () => {
  const sw = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${sw}/containers/default/old`, { recursive: true });
    await switchLatest(`${sw}/containers/default`, "old");
    await assertRejects(
      () =>
        buildImage({
          softwareDir: sw,
          debootstrap: "/bin/false",
          log: () => {},
        }),
      ImageBuildError,
      "debootstrap failed with exit 1",
    );
    const names = [];
    for await (const e of Deno.readDir(`${sw}/containers/default`)) {
      names.push(e.name);
    }
    assertEquals(names.sort(), ["latest", "old"]);
    assertEquals(await Deno.readLink(`${sw}/containers/default/latest`), "old");
    await assertRejects(
      () => buildImage({ softwareDir: sw, name: "../x", log: () => {} }),
      ImageBuildError,
      "--name ../x",
    );
  } finally {
    await Deno.remove(sw, { recursive: true });
  }
});

Deno.test({
  name:
    "build_image: the real debootstrap image has every mount point and resolves",
  ignore: needsImage(),
  fn: async () => {
    const { softwareDir, dir } = await cachedImage();
    assertMatch(
      await Deno.readLink(`${softwareDir}/containers/default/latest`),
      /^\d{8}T\d{6}Z(-\d+)?$/,
    );
    for (const d of IMAGE_MOUNT_DIRS) {
      assertEquals((await Deno.stat(`${dir}/${d}`)).isDirectory, true, d);
    }
    for (const f of IMAGE_MOUNT_FILES) {
      assertEquals((await Deno.lstat(`${dir}/${f}`)).isFile, true, f);
    }
    assertMatch(await Deno.readTextFile(`${dir}/etc/os-release`), /bookworm/);
    assertEquals((await Deno.stat(`${dir}/bin/sh`)).isFile, true);
    assertEquals((await new SoftwareDir(softwareDir).resolve())?.dir, dir);
  },
});
