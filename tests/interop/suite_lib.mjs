// Shared plumbing for the interop suites: a WebSocket peer with an inbox that
// can be awaited, and a case runner that never hangs.
//
// The suites are written against the `ws` package, an implementation that
// shares no code with labkit, so a passing run means labkit speaks RFC 6455
// the way the rest of the world does, not just the way its own tests expect.
//
// Output contract (read by the pytest glue): exactly one JSON object on
// stdout, {"cases": [{"name", "ok", "detail"}, ...]}, and exit status 0 even
// when cases fail, so the Python side can name every failing case.

import WebSocket from "ws";

export { WebSocket };

/** Reject with `message` unless `promise` settles within `ms` milliseconds. */
export function withTimeout(promise, ms, message) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message ?? `timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/** Throw with `message` when `condition` is falsy. */
export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Short, printable description of a value for failure details. */
export function show(value, limit = 160) {
  let text;
  if (Buffer.isBuffer(value)) text = `<${value.length} bytes>`;
  else if (typeof value === "string") text = JSON.stringify(value);
  else text = JSON.stringify(value);
  if (text === undefined) text = String(value);
  return text.length > limit ? `${text.slice(0, limit)}...(${text.length} chars)` : text;
}

/**
 * One client connection. Every frame it receives lands in `inbox`; callers
 * take frames out with `take(predicate)`, which waits (with a timeout) for
 * the first matching frame and leaves the others where they are. That lets a
 * case wait for exactly the event it is about without depending on the order
 * of unrelated traffic.
 */
export class Peer {
  /**
   * @param {string} url ws:// URL to connect to.
   * @param {object} options options for `new WebSocket` (e.g. `origin`).
   * @param {(data: Buffer, isBinary: boolean) => any} decode turns a frame into an inbox item.
   */
  constructor(url, options = {}, decode = (data, isBinary) => ({ data, isBinary })) {
    this.decode = decode;
    this.inbox = [];
    this.waiters = [];
    this.pongs = [];
    this.errors = [];
    this.closeInfo = null;
    this.refusedStatus = null;
    this.ws = new WebSocket(url, { handshakeTimeout: 5000, ...options });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", resolve);
      this.ws.once("unexpected-response", (_req, res) => {
        this.refusedStatus = res.statusCode;
        reject(new Error(`handshake refused with HTTP ${res.statusCode}`));
        res.resume();
      });
      this.ws.once("error", reject);
    });
    // Keep a rejected `opened` from becoming an unhandled rejection when a
    // case never awaits it (it awaits `closed` instead).
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.ws.on("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString("utf8") };
        resolve(this.closeInfo);
        this.#wake();
      });
    });
    this.ws.on("error", (err) => this.errors.push(err.message));
    this.ws.on("message", (data, isBinary) => {
      let item;
      try {
        item = this.decode(data, isBinary);
      } catch (err) {
        item = { undecodable: true, error: err.message, raw: data.toString("utf8") };
      }
      this.inbox.push(item);
      this.#wake();
    });
    this.ws.on("pong", (data) => {
      this.pongs.push(data);
      this.#wake();
    });
  }

  /** Open a peer and wait for the handshake to finish. */
  static async connect(url, options = {}, decode = undefined, ms = 5000) {
    const peer = new Peer(url, options, decode);
    await withTimeout(peer.opened, ms, `connecting to ${url} timed out`);
    return peer;
  }

  #wake() {
    for (const waiter of [...this.waiters]) waiter();
  }

  /**
   * Wait until `ready()` returns a value other than undefined, or time out.
   * `ready` is re-run whenever a frame reaches this peer or any of `alsoOn`.
   */
  waitFor(ready, ms, label, alsoOn = []) {
    const peers = [this, ...alsoOn];
    let poll;
    const unregister = () => {
      for (const peer of peers) peer.waiters = peer.waiters.filter((w) => w !== poll);
    };
    const settled = new Promise((resolve, reject) => {
      poll = () => {
        let value;
        try {
          value = ready();
        } catch (err) {
          unregister();
          reject(err);
          return;
        }
        if (value !== undefined) {
          unregister();
          resolve(value);
        }
      };
      for (const peer of peers) peer.waiters.push(poll);
      poll();
    });
    // The timeout message is built lazily so it shows the inbox at expiry.
    let timer;
    const guard = new Promise((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new Error(
            `${label}: timed out after ${ms} ms (inbox: ${show(this.inbox, 300)}, ` +
              `close: ${show(this.closeInfo)})`,
          ),
        );
      }, ms);
    });
    return Promise.race([settled, guard]).finally(() => {
      clearTimeout(timer);
      unregister();
    });
  }

  /**
   * Take every inbox item up to and including the first one that matches.
   * Returns {match, before}; `before` holds the skipped items, which is how a
   * case proves that something did NOT arrive ahead of a causal marker.
   */
  takeUntil(predicate, ms = 5000, label = "waiting for a frame") {
    return this.waitFor(
      () => {
        const index = this.inbox.findIndex(predicate);
        if (index >= 0) {
          const before = this.inbox.splice(0, index + 1);
          return { match: before.pop(), before };
        }
        if (this.closeInfo) {
          throw new Error(`${label}: connection closed ${show(this.closeInfo)} first`);
        }
        return undefined;
      },
      ms,
      label,
    );
  }

  /** Take the first inbox item that matches, leaving the others in place. */
  take(predicate, ms = 5000, label = "waiting for a frame") {
    return this.waitFor(
      () => {
        const index = this.inbox.findIndex(predicate);
        if (index >= 0) return this.inbox.splice(index, 1)[0];
        if (this.closeInfo) {
          throw new Error(`${label}: connection closed ${show(this.closeInfo)} first`);
        }
        return undefined;
      },
      ms,
      label,
    );
  }

  /** Wait for the connection to close and return {code, reason}. */
  waitClosed(ms = 5000, label = "waiting for close") {
    return withTimeout(
      this.closed,
      ms,
      `${label}: timed out after ${ms} ms (inbox: ${show(this.inbox, 300)})`,
    );
  }

  /** Send a frame and resolve once `ws` has handed it to the socket. */
  send(data, options = {}) {
    return new Promise((resolve, reject) => {
      this.ws.send(data, options, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Close politely (so the server sees a clean leave) and fall back to a hard stop. */
  async shutdown(ms = 2000) {
    if (this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.terminate();
      return;
    }
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    try {
      await withTimeout(this.closed, ms);
    } catch {
      this.ws.terminate();
    }
  }
}

/**
 * Run `cases` one after another and print the JSON report.
 *
 * Each case is `[name, async (ctx) => detail]`; it fails by throwing. `ctx.open`
 * opens a peer that is shut down when the case ends, whatever happened.
 * `afterEach(ctx)` (optional) runs after the peers are shut down. A watchdog
 * prints what is known so far and exits if the whole run stalls.
 */
export async function runSuite(cases, { open, caseMs = 10000, watchdogMs = 30000, afterEach }) {
  const results = [];
  let finished = false;
  const report = () => {
    if (finished) return;
    finished = true;
    process.stdout.write(`${JSON.stringify({ cases: results })}\n`);
  };
  const watchdog = setTimeout(() => {
    for (const [name] of cases.slice(results.length)) {
      results.push({ name, ok: false, detail: `not finished: watchdog fired after ${watchdogMs} ms` });
    }
    report();
    process.exit(0);
  }, watchdogMs);

  for (const [name, body, ms = caseMs] of cases) {
    const peers = [];
    const ctx = {
      open: async (...args) => {
        const peer = await open(...args);
        peers.push(peer);
        return peer;
      },
      track: (peer) => {
        peers.push(peer);
        return peer;
      },
      peers,
    };
    let result;
    try {
      const detail = await withTimeout(body(ctx), ms, `case timed out after ${ms} ms`);
      result = { name, ok: true, detail: detail ?? "" };
    } catch (err) {
      result = { name, ok: false, detail: err?.message ?? String(err) };
    }
    await Promise.all(peers.map((peer) => peer.shutdown()));
    if (afterEach) {
      try {
        await afterEach(ctx);
      } catch (err) {
        // A case that leaves the server in a bad state fails, not the next one.
        result = {
          name,
          ok: false,
          detail: `${result.ok ? "" : `${result.detail}; `}cleanup: ${err.message}`,
        };
      }
    }
    results.push(result);
  }
  clearTimeout(watchdog);
  report();
  process.exit(0);
}

/** The URL given on the command line, or exit with a usage line. */
export function urlFromArgs(script) {
  const url = process.argv[2];
  if (!url || !/^wss?:\/\//.test(url)) {
    process.stderr.write(`usage: node ${script} ws://127.0.0.1:PORT/ [more]\n`);
    process.exit(2);
  }
  return url;
}
