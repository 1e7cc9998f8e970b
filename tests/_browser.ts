/**
 * Test helper: the system's headless Chromium driven over the DevTools
 * protocol (a WebSocket; no npm driver, no downloaded browser). Enough to
 * open a page, evaluate script in it, wait for a condition and take a
 * screenshot.
 *
 * @module
 */
import { IN_CI, which } from "./_grid.ts";

/** `ignore` for browser tests (never under CI=true, which installs chromium). */
export function needsChromium(): boolean {
  return !IN_CI && which("chromium") === undefined;
}

/** A page in a running browser. */
export interface BrowserPage {
  /** Navigates and waits for the load event. */
  goto(url: string): Promise<void>;
  /** Evaluates `expression` in the page; returns its (JSON) value. */
  eval<T = unknown>(expression: string): Promise<T>;
  /** Polls `expression` until it is truthy (throws after `ms`). */
  waitFor(expression: string, what: string, ms?: number): Promise<void>;
  /** A PNG screenshot of the viewport. */
  screenshot(): Promise<Uint8Array>;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile; returns its one page. */
export async function launchChromium(): Promise<BrowserPage> {
  const bin = which("chromium");
  if (!bin) {
    throw new Error("chromium is not installed (apt-get install chromium)");
  }
  const profile = await Deno.makeTempDir({ prefix: "splitpilot-chromium-" });
  const child = new Deno.Command(bin, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      "--window-size=1400,1000",
      `--user-data-dir=${profile}`,
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const cleanup = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  };
  try {
    let port = 0;
    const end = Date.now() + 30_000;
    while (!port) {
      try {
        port = Number(
          (await Deno.readTextFile(`${profile}/DevToolsActivePort`)).split(
            "\n",
          )[0],
        );
      } catch { /* not yet */ }
      if (!port) {
        if (Date.now() > end) {
          throw new Error("chromium did not start its DevTools endpoint");
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`))
      .json() as {
        type: string;
        webSocketDebuggerUrl: string;
      }[];
    const target = targets.find((t) => t.type === "page");
    if (!target) throw new Error("chromium has no page");
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error("DevTools WebSocket failed"));
    });
    let nextId = 1;
    const pending = new Map<
      number,
      PromiseWithResolvers<Record<string, unknown>>
    >();
    const waiters: { method: string; resolve: () => void }[] = [];
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.id !== undefined) {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message));
        else p?.resolve(msg.result);
      } else if (msg.method) {
        for (const w of waiters.filter((w) => w.method === msg.method)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    };
    const send = (method: string, params: Record<string, unknown> = {}) => {
      const id = nextId++;
      const p = Promise.withResolvers<Record<string, unknown>>();
      pending.set(id, p);
      ws.send(JSON.stringify({ id, method, params }));
      return p.promise;
    };
    await send("Page.enable");
    await send("Runtime.enable");
    const evaluate = async <T>(expression: string): Promise<T> => {
      const r = await send("Runtime.evaluate", {
        expression,
        awaitPromise: true,
        returnByValue: true,
      }) as {
        result: { value?: T };
        exceptionDetails?: {
          text: string;
          exception?: { description?: string };
        };
      };
      if (r.exceptionDetails) {
        throw new Error(
          `page script failed: ${
            r.exceptionDetails.exception?.description ?? r.exceptionDetails.text
          }`,
        );
      }
      return r.result.value as T;
    };
    return {
      async goto(url) {
        const loaded = new Promise<void>((resolve) =>
          waiters.push({ method: "Page.loadEventFired", resolve })
        );
        await send("Page.navigate", { url });
        await loaded;
      },
      eval: evaluate,
      async waitFor(expression, what, ms = 60_000) {
        const end = Date.now() + ms;
        while (!(await evaluate<boolean>(`Boolean(${expression})`))) {
          if (Date.now() > end) {
            const text = await evaluate<string>("document.body.innerText");
            throw new Error(
              `browser: timed out waiting for ${what}\n--- page ---\n${
                text.slice(0, 3000)
              }`,
            );
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      },
      async screenshot() {
        const r = await send("Page.captureScreenshot", { format: "png" }) as {
          data: string;
        };
        return Uint8Array.from(atob(r.data), (c) => c.charCodeAt(0));
      },
      async close() {
        try {
          ws.close();
        } catch { /* closed */ }
        await cleanup();
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
