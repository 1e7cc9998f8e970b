/**
 * The file catalogue's routes: list, download, upload, delete, and the
 * built artefacts agents fetch. Blobs are content-addressed; the store
 * keeps names.
 *
 * @module
 */
import { attemptLfn, inAttemptTree } from "./attempts.ts";
import { checkObject } from "./authz.ts";
import type { BrokerContext } from "./broker_context.ts";
import { badRequest, forbidden, json, notFound } from "./errors.ts";
import { jobOutputDir } from "./lfn.ts";
import { pageParams } from "./page.ts";
import type { RouteCall } from "./route_call.ts";
import { checkDeclaredSize } from "./upload_limit.ts";

/** `GET /api/v1/files?prefix=`: one page of names under a prefix. */
export async function fileList(
  ctx: BrokerContext,
  { url, who }: RouteCall<"file_list">,
): Promise<Response> {
  const prefix = url.searchParams.get("prefix") ?? `/${who.subject}/`;
  if (!prefix.startsWith("/")) {
    throw badRequest("bad_lfn", "prefix must start with /");
  }
  checkObject("own_path", who, { lfn: prefix });
  const { limit, cursor } = pageParams(url, "after");
  const files = await ctx.store.listFiles(prefix, {
    after: cursor,
    limit,
  });
  return json({
    files,
    next: files.length === limit ? files[files.length - 1].lfn : null,
  });
}

/** `GET /api/v1/artefacts/<name>`: a built agent or wrapper. */
export async function artefact(
  ctx: BrokerContext,
  { lfn }: RouteCall<"artefact">,
): Promise<Response> {
  const name = lfn.slice(1);
  const file = await ctx.artefacts?.open(name);
  if (!file) throw notFound(`no artefact ${name}`);
  return new Response(file.body, {
    headers: {
      "content-type": "application/octet-stream",
      "content-length": String(file.size),
      "x-sha256": file.sha256,
    },
  });
}

/** `GET /api/v1/files/<lfn>`: the file's bytes. */
export async function fileGet(
  ctx: BrokerContext,
  { lfn }: RouteCall<"file_get">,
): Promise<Response> {
  const file = await ctx.store.getFile(lfn);
  if (!file) throw notFound(`no file ${lfn}`);
  const body = await ctx.deps.blobs.open(file.sha256);
  return new Response(body, {
    headers: {
      "content-type": "application/octet-stream",
      "content-length": String(file.size),
      "x-sha256": file.sha256,
    },
  });
}

/** `DELETE /api/v1/files/<lfn>`: removes the name. */
export async function fileDelete(
  ctx: BrokerContext,
  { lfn }: RouteCall<"file_delete">,
): Promise<Response> {
  // The blob stays: it is content-addressed and may back other names.
  if (!(await ctx.store.deleteFile(lfn))) {
    throw notFound(`no file ${lfn}`);
  }
  return json({ lfn, deleted: true });
}

/**
 * `PUT /api/v1/files/<lfn>`: stores the body (checked against `x-sha256`
 * when given); a job's outputs are also filed under its attempt.
 */
export async function filePut(
  ctx: BrokerContext,
  { req, lfn, who, tokenJob }: RouteCall<"file_put">,
): Promise<Response> {
  if (!req.body) throw badRequest("no_body", "upload needs a body");
  const expect = req.headers.get("x-sha256") ?? undefined;
  if (expect !== undefined && !/^[0-9a-f]{64}$/.test(expect)) {
    throw badRequest(
      "bad_checksum",
      "x-sha256 must be 64 lowercase hex digits",
    );
  }
  checkDeclaredSize(req, ctx.maxUploadBytes);
  const outDir = tokenJob && jobOutputDir(tokenJob.owner, tokenJob.id);
  if (outDir && inAttemptTree(outDir, lfn)) {
    throw forbidden(
      "wrong_object",
      `${lfn}: the per-attempt copies are written by the broker only`,
    );
  }
  const stored = await ctx.deps.blobs.write(req.body, {
    maxBytes: ctx.maxUploadBytes,
    expectSha256: expect,
  });
  const owner = tokenJob ? tokenJob.owner : who.subject;
  await ctx.store.putFile({
    lfn,
    owner,
    jobId: tokenJob?.id,
    size: stored.size,
    sha256: stored.sha256,
    createdAt: Date.now(),
  });
  if (outDir && lfn.startsWith(outDir)) {
    // The same blob, filed under this attempt too (see attempts.ts).
    await ctx.store.putFile({
      lfn: attemptLfn(
        outDir,
        tokenJob!.resubmissions,
        lfn.slice(outDir.length),
      ),
      owner,
      jobId: tokenJob!.id,
      size: stored.size,
      sha256: stored.sha256,
      createdAt: Date.now(),
    });
  }
  return json({ lfn, size: stored.size, sha256: stored.sha256 }, 201);
}
