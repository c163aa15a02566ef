// The load generator of `make bench`: many WebSocket clients in ONE Node
// process, independent of the server under test (its own process, its own
// core), written against the `ws` package from bench/koa/node_modules.
//
//   node bench/loadgen.mjs echo  URL '{"connections":16,"duration":3,"size":64}'
//   node bench/loadgen.mjs fanout URL '{"receivers":1000,"messages":500,"window":16}'
//   node bench/loadgen.mjs join  URL '{"clients":1000}'
//   node bench/loadgen.mjs idle  URL '{"clients":1000}'
//
// Several servers sharing one room (the Redis backplane): "urls" spreads the
// receivers (fanout) or the clients (join) over those URLs in turn, and
// "sender_url" puts the fan-out's sender on one of them (default: the first).
//
// Each scenario prints exactly one JSON object on stdout (the field names are
// the ones labkit/loadtest.py reads). `idle` prints {"ready": ...} once
// its clients have joined, then waits for stdin to close before leaving.
//
// Chat scenarios speak labkit's JSON wire protocol (labkit/chat/protocol.py),
// so the same run drives the labkit room, the bare websockets room and the
// Koa original.

import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";

const require = createRequire(new URL("./koa/package.json", import.meta.url));
const WebSocket = require("ws");

const [scenario, url, rawOptions] = process.argv.slice(2);
const options = JSON.parse(rawOptions ?? "{}");
const tag = options.tag ?? `${process.pid}`;
const timeoutMs = (options.timeout ?? 120) * 1000;

const now = () => Number(process.hrtime.bigint()) / 1e6; // milliseconds

// CPU seconds used so far by this process and, when its pid is given, by the
// server: who was saturated during the timed phase tells whether a figure is
// the server's limit or the load generator's.
const serverPid = options.server_pid;
const ticks = options.clock_ticks ?? 100;
function serverCpu() {
  if (!serverPid) return null;
  try {
    const stat = readFileSync(`/proc/${serverPid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticks;
  } catch {
    return null;
  }
}
function cpuMark() {
  const usage = process.cpuUsage();
  return { at: now(), self: (usage.user + usage.system) / 1e6, server: serverCpu() };
}
function cpuShare(from, to) {
  const wall = (to.at - from.at) / 1000;
  return {
    loadgen_cpu: (to.self - from.self) / wall,
    server_cpu: from.server === null || to.server === null ? null : (to.server - from.server) / wall,
  };
}

function quantile(values, q) {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function open(address) {
  return new Promise((resolve, reject) => {
    // The server under test is trusted to send UTF-8; skipping the check
    // keeps the load generator's cost per delivery low.
    const ws = new WebSocket(address, {
      perMessageDeflate: false,
      handshakeTimeout: 30000,
      skipUTF8Validation: true,
    });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function closeAll(sockets) {
  return Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once("close", resolve);
          ws.close(1000);
        }),
    ),
  );
}

const WELCOME = Buffer.from('{"type":"welcome"');
const MESSAGE = Buffer.from('{"type":"message"');
const TEXT_KEY = Buffer.from('"text":"');

function textOf(data) {
  return typeof data === "string" ? data : data.toString();
}

// --- a lean receiver for the fan-out -------------------------------------------------
//
// A thousand `ws` clients cost the load generator about as much CPU per
// delivery as a fast server spends producing it, so at high rates both sides
// would be saturated and the figure would be the load generator's. The fan-out
// receivers therefore speak RFC 6455 directly over a TCP socket: the opening
// handshake (section 4.1, accept key checked), then a loop that cuts unmasked
// server frames out of each chunk (section 5.2) and hands complete text
// messages on as Buffers. Pings get their pong (section 5.5.3). Client frames
// are masked, as section 5.3 requires. `ws` still drives the sender, the echo
// and the joins.

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

function maskedFrame(opcode, payload) {
  const key = randomBytes(4);
  const length = payload.length;
  const head = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.alloc(head + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  key.copy(frame, head);
  for (let i = 0; i < length; i++) frame[head + 4 + i] = payload[i] ^ key[i & 3];
  return frame;
}

class LeanClient {
  constructor(address, onMessage) {
    const target = new URL(address);
    this.onMessage = onMessage;
    this.pending = null;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.opened = new Promise((resolve, reject) => {
      const key = randomBytes(16).toString("base64");
      const accept = createHash("sha1").update(key + GUID).digest("base64");
      const socket = net.connect(Number(target.port), target.hostname);
      socket.setNoDelay(true);
      this.socket = socket;
      let head = Buffer.alloc(0);
      const onHandshake = (chunk) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        const text = head.subarray(0, end).toString("latin1");
        if (!text.startsWith("HTTP/1.1 101") || !text.includes(accept)) {
          reject(new Error(`handshake refused: ${text.split("\r\n")[0]}`));
          socket.destroy();
          return;
        }
        socket.off("data", onHandshake);
        socket.on("data", (data) => this.feed(data));
        const rest = head.subarray(end + 4);
        resolve(this);
        if (rest.length) this.feed(rest);
      };
      socket.on("data", onHandshake);
      socket.once("error", reject);
      socket.on("close", () => this.resolveClosed());
      socket.write(
        `GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  }

  feed(data) {
    let buf = this.pending === null ? data : Buffer.concat([this.pending, data]);
    let at = 0;
    while (buf.length - at >= 2) {
      const opcode = buf[at] & 0x0f;
      let length = buf[at + 1] & 0x7f;
      let start = at + 2;
      if (length === 126) {
        if (buf.length - at < 4) break;
        length = buf.readUInt16BE(at + 2);
        start = at + 4;
      } else if (length === 127) {
        if (buf.length - at < 10) break;
        length = Number(buf.readBigUInt64BE(at + 2));
        start = at + 10;
      }
      if (buf.length < start + length) break;
      const payload = buf.subarray(start, start + length);
      at = start + length;
      if (opcode === 1 || opcode === 2) this.onMessage(payload);
      else if (opcode === 9) this.socket.write(maskedFrame(0xa, payload));
      else if (opcode === 8) this.socket.end();
    }
    this.pending = at === buf.length ? null : Buffer.from(buf.subarray(at));
  }

  send(text) {
    this.socket.write(maskedFrame(1, Buffer.from(text)));
  }

  close() {
    // Close frame with 1000 (section 5.5.1), then wait for the server to end TCP.
    this.socket.write(maskedFrame(8, Buffer.from([0x03, 0xe8])));
    return this.closed;
  }
}

const urls = options.urls ?? [url];
const urlOf = (i) => urls[i % urls.length];

/** Like joinMany, with lean receivers (spread over `urls`). */
async function joinManyLean(count, prefix, onMessage) {
  const clients = [];
  const welcomed = [];
  for (let i = 0; i < count; i++) {
    let joined = false;
    let welcome;
    const done = new Promise((resolve) => {
      welcome = resolve;
    });
    const client = new LeanClient(urlOf(i), (data) => {
      if (!joined && data.indexOf(WELCOME) === 0) {
        joined = true;
        welcome();
        return;
      }
      onMessage(i, data);
    });
    clients.push(client);
    welcomed.push(
      client.opened.then(() => {
        client.send(JSON.stringify({ type: "join", name: `${prefix}${i}` }));
        return done;
      }),
    );
  }
  await Promise.all(welcomed);
  return clients;
}

/** Open `count` chat clients named `${prefix}${i}` that join; resolve once every welcome arrived. */
async function joinMany(count, prefix, onMessage = () => {}) {
  const sockets = [];
  const welcomed = [];
  for (let i = 0; i < count; i++) {
    welcomed.push(
      open(urlOf(i)).then(
        (ws) =>
          new Promise((resolve) => {
            sockets[i] = ws;
            let joined = false;
            ws.on("message", (data) => {
              if (!joined && data.indexOf(WELCOME) === 0) {
                joined = true;
                resolve(JSON.parse(textOf(data)));
                return;
              }
              onMessage(i, data);
            });
            ws.send(JSON.stringify({ type: "join", name: `${prefix}${i}` }));
          }),
      ),
    );
  }
  await Promise.all(welcomed);
  return sockets;
}

async function echo() {
  const connections = options.connections ?? 16;
  const duration = (options.duration ?? 3) * 1000;
  const warmup = (options.warmup ?? 0.5) * 1000;
  const payload = "x".repeat(options.size ?? 64);
  const sockets = await Promise.all(Array.from({ length: connections }, () => open(url)));
  const latencies = [];
  let counted = 0;
  const started = now();
  const measureFrom = started + warmup;
  const stopAt = measureFrom + duration;
  let markFrom = cpuMark();
  setTimeout(() => {
    markFrom = cpuMark();
  }, warmup);
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          let sentAt = 0;
          const next = () => {
            sentAt = now();
            ws.send(payload);
          };
          ws.on("message", () => {
            const t = now();
            if (t >= measureFrom && sentAt >= measureFrom) {
              latencies.push(t - sentAt);
              counted++;
            }
            if (t < stopAt) next();
            else resolve();
          });
          next();
        }),
    ),
  );
  const markTo = cpuMark();
  const elapsed = (now() - measureFrom) / 1000;
  await closeAll(sockets);
  return {
    ...cpuShare(markFrom, markTo),
    connections,
    round_trips: counted,
    seconds: elapsed,
    rate: counted / elapsed,
    p50_ms: quantile(latencies, 0.5),
    p99_ms: quantile(latencies, 0.99),
  };
}

async function fanout() {
  const receivers = options.receivers ?? 100;
  const messages = options.messages ?? 200;
  const warm = options.warmup ?? Math.min(20, messages);
  const window = options.window ?? 16;
  const total = warm + messages;
  const delivered = new Uint32Array(total);
  const sentAt = new Float64Array(total);
  const latencies = new Float64Array(receivers * messages);
  let latencyCount = 0;
  let completed = 0;
  let sent = 0;
  let measureFrom = 0;
  let markFrom = null;
  let markTo = null;
  let lost = 0;
  let finish;
  const finished = new Promise((resolve) => {
    finish = resolve;
  });
  let sender;
  const pump = () => {
    while (sent < total && sent - completed < window) {
      const seq = sent++;
      sentAt[seq] = now();
      sender.send(`{"type":"message","text":"${seq}"}`);
    }
  };
  const onMessage = (_i, data) => {
    // Read the sequence number straight from the bytes: no string, no JSON.
    if (data.indexOf(MESSAGE) !== 0) return;
    let at = data.indexOf(TEXT_KEY);
    if (at < 0) return;
    at += TEXT_KEY.length;
    let seq = 0;
    let digits = 0;
    for (let c = data[at]; c >= 48 && c <= 57; c = data[++at], digits++) seq = seq * 10 + c - 48;
    if (digits === 0 || seq >= total) {
      lost++;
      return;
    }
    const t = now();
    if (seq >= warm) latencies[latencyCount++] = t - sentAt[seq];
    if (++delivered[seq] === receivers) {
      completed++;
      if (completed === warm) {
        measureFrom = t;
        markFrom = cpuMark();
      }
      if (completed === total) {
        markTo = cpuMark();
        finish(t);
      }
      else pump();
    }
  };
  const lean = (options.client ?? "lean") === "lean";
  const sockets = await (lean ? joinManyLean : joinMany)(receivers, `r${tag}-`, onMessage);
  sender = await open(options.sender_url ?? urls[0]);
  await new Promise((resolve) => {
    sender.on("message", (data) => {
      if (textOf(data).startsWith('{"type":"welcome"')) resolve();
    });
    sender.send(JSON.stringify({ type: "join", name: `s${tag}` }));
  });
  const started = now();
  if (warm === 0) {
    measureFrom = started;
    markFrom = cpuMark();
  }
  pump();
  const ended = await finished;
  const seconds = (ended - measureFrom) / 1000;
  const used = latencies.subarray(0, latencyCount);
  await closeAll([sender]);
  if (lean) await Promise.all(sockets.map((client) => client.close()));
  else await closeAll(sockets);
  return {
    ...cpuShare(markFrom, markTo),
    client: lean ? "lean" : "ws",
    receivers,
    messages,
    deliveries: receivers * messages,
    received: latencyCount,
    seconds,
    rate: (receivers * messages) / seconds,
    p50_ms: quantile(used, 0.5),
    p99_ms: quantile(used, 0.99),
    window,
    unexpected: lost,
  };
}

/** Open `clients` at once; each joins. Resolve when everyone knows everyone of this run. */
async function storm(clients) {
  const prefix = `j${tag}-`;
  const joinNotice = Buffer.from('{"type":"join"');
  const ofThisRun = Buffer.from(`"name":"${prefix}`);
  const seen = new Uint32Array(clients);
  let settled = 0;
  let lastWelcome = 0;
  let done;
  const allSettled = new Promise((resolve) => {
    done = resolve;
  });
  const bump = (i, by) => {
    const before = seen[i];
    seen[i] += by;
    if (before < clients && seen[i] >= clients && ++settled === clients) done(now());
  };
  const sockets = [];
  const started = now();
  for (let i = 0; i < clients; i++) {
    let joined = false;
    const client = new LeanClient(urlOf(i), (data) => {
      if (!joined && data.indexOf(WELCOME) === 0) {
        joined = true;
        lastWelcome = Math.max(lastWelcome, now());
        const users = JSON.parse(data.toString()).users.filter((name) => name.startsWith(prefix));
        bump(i, users.length);
      } else if (data.indexOf(joinNotice) === 0 && data.indexOf(ofThisRun) > 0) {
        bump(i, 1);
      }
    });
    sockets.push(client);
    client.opened.then(() => client.send(JSON.stringify({ type: "join", name: `${prefix}${i}` })));
  }
  const settledAt = await allSettled;
  return {
    sockets,
    result: {
      clients,
      welcomed_s: (lastWelcome - started) / 1000,
      settled_s: (settledAt - started) / 1000,
    },
  };
}

const closeLean = (clients) => Promise.all(clients.map((client) => client.close()));

async function join() {
  const { sockets, result } = await storm(options.clients ?? 1000);
  await closeLean(sockets);
  return result;
}

async function idle() {
  const { sockets, result } = await storm(options.clients ?? 1000);
  console.log(JSON.stringify({ ready: true, ...result }));
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once("end", resolve));
  await closeLean(sockets);
  return { closed: sockets.length };
}

const scenarios = { echo, fanout, join, idle };
if (!(scenario in scenarios) || !url) {
  console.error("usage: node loadgen.mjs echo|fanout|join|idle URL [JSON options]");
  process.exit(2);
}
const watchdog = setTimeout(() => {
  console.log(JSON.stringify({ error: `${scenario} did not finish within ${timeoutMs / 1000} s` }));
  process.exit(1);
}, timeoutMs);
try {
  const result = await scenarios[scenario]();
  console.log(JSON.stringify(result));
  clearTimeout(watchdog);
  process.exit(0);
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.stack ?? error) }));
  process.exit(1);
}
