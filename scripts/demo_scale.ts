/**
 * `deno task demo --scale`: the demo's grid with three broker replicas on
 * one PostgreSQL instead of one broker on SQLite. The database is
 * `SPLITPILOT_DB` when set (an empty database the demo may fill), else a
 * throwaway cluster in the demo's temp dir. Every client (the user, the
 * agent, each wrapper) gets all three URLs and starts at a random one; at
 * the end each replica's own metrics tell which requests it served.
 *
 * @module
 */
import { startReplicaSet } from "../src/launch/replica_set.ts";
import { startPostgres } from "./postgres_cluster.ts";
import { curlMetrics } from "./_curl_metrics.ts";

/** The brokers the demo talks to. */
export interface Brokers {
  /** Their URLs. */
  urls: string[];
  /** Stops them (and the throwaway database). */
  stop(): Promise<void>;
}

/** Starts the database (unless `SPLITPILOT_DB`) and three replicas. */
export async function startScaled(
  tmp: string,
  ca: { certPem: string; keyPem: string },
): Promise<Brokers> {
  const given = Deno.env.get("SPLITPILOT_DB");
  const pg = given ? undefined : await startPostgres();
  try {
    const db = given ?? await pg!.createDatabase();
    console.log(
      `task queue: PostgreSQL ${
        given ? "from SPLITPILOT_DB" : `(throwaway cluster on port ${pg!.port})`
      }`,
    );
    const set = await startReplicaSet({ dir: `${tmp}/replicas`, db, ca });
    set.urls.forEach((u, i) =>
      console.log(
        `replica r${i + 1}: ${u} (pid ${set.process(i)?.child.pid})`,
      )
    );
    console.log(`shared file store: ${set.filesDir}`);
    return {
      urls: set.urls,
      stop: async () => {
        await set.stop();
        await pg?.stop();
      },
    };
  } catch (e) {
    await pg?.stop();
    throw e;
  }
}

/** Requests a replica served, by route, from its metrics. */
async function served(
  url: string,
  tokenDir: string,
): Promise<Map<string, number> | undefined> {
  const out = await curlMetrics(url, tokenDir);
  if (!out.success) return undefined;
  const counts = new Map<string, number>();
  const re = /^splitpilot_request_seconds_count\{([^}]*)\} (\d+)/;
  for (const line of out.text.split("\n")) {
    const m = re.exec(line);
    if (!m) continue;
    const route = /route="([^"]*)"/.exec(m[1])?.[1] ?? "?";
    counts.set(route, (counts.get(route) ?? 0) + Number(m[2]));
  }
  return counts;
}

/**
 * Prints, per replica, the requests it served by route. False when a
 * replica did not answer, or when the replicas served no request at all.
 */
export async function showReplicas(
  urls: string[],
  tokenDir: string,
): Promise<boolean> {
  console.log(
    "\nwhich replica served what (requests by route, from each replica's /metrics):",
  );
  let ok = true;
  let total = 0;
  for (const [i, url] of urls.entries()) {
    const counts = await served(url, tokenDir);
    if (!counts) {
      console.error(`error: replica r${i + 1} (${url}) gave no metrics`);
      ok = false;
      continue;
    }
    const sum = [...counts.values()].reduce((a, b) => a + b, 0);
    total += sum;
    const parts = [...counts].sort((a, b) => b[1] - a[1])
      .map(([r, n]) => `${r} ${n}`);
    console.log(
      `  r${i + 1} ${url}: ${sum} requests: ${parts.join(", ") || "none"}`,
    );
  }
  if (total === 0) {
    console.error("error: the replicas served no request");
    ok = false;
  }
  return ok;
}
