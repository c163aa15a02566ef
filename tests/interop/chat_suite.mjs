// Drive a chat room server through every rule of its wire protocol with an
// independent client (the `ws` package).
//
// Usage: node chat_suite.mjs ws://127.0.0.1:PORT/ [origin-check-url]
//
// The optional second URL is the server that should enforce the Origin check
// (defaults to the first one).
//
// Ordering: frames on ONE connection arrive in the order the server wrote
// them, and the server handles one client's frames in order. Nothing else is
// assumed. To prove that something did NOT arrive, a case sends a causal
// marker after it (for example invalid JSON, whose error reply can only come
// after the server has finished with the previous frame) and checks the
// frames that came before the marker's answer.
//
// A "sentinel" client stays in the room for the whole run. After each case it
// waits for the leave notice of every client the case joined, so each case
// starts with a room that holds the sentinel and nobody else, and member
// counts are exact.

import { randomBytes } from "node:crypto";

import { Peer, WebSocket, check, runSuite, show, urlFromArgs, withTimeout } from "./suite_lib.mjs";

const url = urlFromArgs("chat_suite.mjs");
const originUrl = process.argv[3] ?? url;

const RUN = randomBytes(3).toString("hex");
let counter = 0;
/** A name no other client of this run uses (well under the 32-character limit). */
const fresh = (prefix) => `${prefix}-${++counter}-${RUN}`;

/** Server frames must be text frames holding one JSON object. */
function decode(data, isBinary) {
  if (isBinary) return { undecodable: true, error: "binary frame from the server" };
  const value = JSON.parse(data.toString("utf8"));
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { undecodable: true, error: `not a JSON object: ${show(value)}` };
  }
  return value;
}

const isType = (type, extra = () => true) => (ev) => ev.type === type && extra(ev);
const isError = (code) => isType("error", (ev) => ev.code === code);

/** A chat client: a Peer plus the name it joined with. */
class Chat {
  constructor(peer) {
    this.peer = peer;
    this.name = null;
    this.welcome = null;
  }

  sendJson(value) {
    return this.peer.send(JSON.stringify(value));
  }

  /** Join as `name` and return the welcome frame. */
  async join(name) {
    await this.sendJson({ type: "join", name });
    const { match } = await this.peer.takeUntil(
      (ev) => ev.type === "welcome" || ev.type === "error",
      5000,
      `welcome for ${show(name)}`,
    );
    check(match.type === "welcome", `join as ${show(name)} answered ${show(match)}`);
    this.name = match.name;
    this.welcome = match;
    // Lets afterEach wait for this client's leave notice.
    this.peer.joinedAs = match.name;
    return match;
  }

  say(text, extra = {}) {
    return this.sendJson({ type: "message", text, ...extra });
  }

  /** Wait for an error frame with `code` and check its shape. */
  async expectError(code, what) {
    // A welcome here means the server accepted what it should have refused.
    const { match } = await this.peer.takeUntil(
      (ev) => ev.type === "error" || ev.type === "welcome",
      5000,
      `error for ${what}`,
    );
    check(match.code === code, `${what}: expected error ${code}, got ${show(match)}`);
    check(
      typeof match.message === "string" && match.message.length > 0,
      `${what}: error ${code} carries no human-readable message: ${show(match)}`,
    );
    check(this.peer.closeInfo === null, `${what}: connection closed after the error`);
    return match;
  }

  /**
   * Causal marker: send invalid JSON and return every frame that arrived
   * before its error reply. (A rate limiter may answer rate_limited instead,
   * which is just as good as a marker.)
   */
  async barrier() {
    await this.peer.send("{marker");
    const { before } = await this.peer.takeUntil(
      isType("error", (ev) => ev.code === "bad_json" || ev.code === "rate_limited"),
      5000,
      "answer to the marker",
    );
    return before;
  }
}

const sentinel = new Chat(await Peer.connect(url, {}, decode).catch(() => null));
const left = new Set();

async function openChat(options = {}, target = url) {
  return new Chat(await Peer.connect(target, options, decode));
}

/** Open and join one client per name prefix, one after another. */
async function joined(ctx, ...prefixes) {
  const chats = [];
  for (const prefix of prefixes) {
    const chat = new Chat(ctx.track(await Peer.connect(url, {}, decode)));
    await chat.join(fresh(prefix));
    chats.push(chat);
  }
  return chats;
}

/** Open one client without joining; it is shut down when the case ends. */
async function unjoined(ctx) {
  return new Chat(ctx.track(await Peer.connect(url, {}, decode)));
}

/**
 * Send `text` from `sender` until `observer` sees it, backing off while the
 * server answers rate_limited. Returns the observed message event.
 */
async function deliver(sender, observer, text, extra = {}) {
  const delivered = isType("message", (ev) => ev.text === text);
  for (let attempt = 0; attempt < 40; attempt += 1) {
    await sender.say(text, extra);
    const outcome = await observer.peer.waitFor(
      () => {
        const seen = observer.peer.inbox.findIndex(delivered);
        if (seen >= 0) return { ev: observer.peer.inbox.splice(seen, 1)[0] };
        const refused = sender.peer.inbox.findIndex(isError("rate_limited"));
        if (refused >= 0) return { limited: sender.peer.inbox.splice(refused, 1)[0] };
        for (const chat of [sender, observer]) {
          check(!chat.peer.closeInfo, `${chat.name} closed ${show(chat.peer.closeInfo)}`);
        }
        return undefined;
      },
      5000,
      `delivery of ${show(text)} from ${sender.name} to ${observer.name}`,
      [sender.peer],
    );
    if (outcome.ev) return outcome.ev;
    // The limiter refills with time, so waiting is the only way forward here.
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${show(text)} was rate limited 40 times in a row`);
}

/** Check a message event as the server must send it. */
function checkMessage(ev, { from, text, to }) {
  check(ev.type === "message", `not a message event: ${show(ev)}`);
  check(ev.from === from, `from should be ${show(from)}, got ${show(ev)}`);
  check(ev.text === text, `text differs: ${show(ev)}`);
  check(typeof ev.ts === "number", `ts should be a number of UNIX seconds: ${show(ev)}`);
  const now = Date.now() / 1000;
  check(Math.abs(ev.ts - now) < 300, `ts ${ev.ts} is not UNIX seconds near now (${now})`);
  if (to === undefined) check(!("to" in ev), `a public message carries "to": ${show(ev)}`);
  else check(ev.to === to, `private message should carry to=${show(to)}: ${show(ev)}`);
}

const names = (chats) => chats.map((c) => c.name);

/** The welcome's user list, minus the joiner itself, must be exactly `others`. */
function checkUsers(welcome, others) {
  check(Array.isArray(welcome.users), `welcome.users is not a list: ${show(welcome)}`);
  const listed = welcome.users.filter((u) => u !== welcome.name).sort();
  const expected = [...others].sort();
  check(
    JSON.stringify(listed) === JSON.stringify(expected),
    `welcome.users should list ${show(expected)} (besides the joiner), got ${show(welcome.users)}`,
  );
}

/** Run `triggers` (each a [what, send]) and expect `code` after each; then prove the link works. */
async function errorCase(ctx, code, triggers, { join = true } = {}) {
  const [observer] = await joined(ctx, "obs");
  const chat = await unjoined(ctx);
  if (join) await chat.join(fresh("err"));
  for (const [what, send] of triggers) {
    await send(chat);
    await chat.expectError(code, what);
  }
  if (!chat.name) await chat.join(fresh("late"));
  const text = `still open ${RUN}`;
  const ev = await deliver(chat, observer, text);
  checkMessage(ev, { from: chat.name, text });
  return `${triggers.length} trigger(s) answered ${code}; the connection kept working`;
}

const cases = [
  [
    "sentinel_joins",
    async () => {
      check(sentinel.peer, `cannot connect to ${url}`);
      const welcome = await sentinel.join(fresh("sentinel"));
      check(welcome.name === sentinel.name, `welcome name ${show(welcome)}`);
      return `joined as ${sentinel.name}`;
    },
  ],
  [
    "welcome",
    async (ctx) => {
      const chat = await unjoined(ctx);
      const name = fresh("alice");
      const welcome = await chat.join(name);
      check(welcome.name === name, `welcome.name should be ${show(name)}: ${show(welcome)}`);
      checkUsers(welcome, [sentinel.name]);
      check(Array.isArray(welcome.history), `welcome.history is not a list: ${show(welcome)}`);
      const self = welcome.users.includes(name) ? "includes" : "omits";
      return `welcome has name, users (${self} the joiner) and history`;
    },
  ],
  [
    "name_boundaries",
    async (ctx) => {
      const long = new Chat(ctx.track(await Peer.connect(url, {}, decode)));
      const name32 = `${fresh("n")}-`.padEnd(32, "x");
      check((await long.join(name32)).name === name32, "a 32-character name was refused");
      const padded = new Chat(ctx.track(await Peer.connect(url, {}, decode)));
      const core = fresh("pad");
      const welcome = await padded.join(`  ${core}\t `);
      check(welcome.name === core, `name should be trimmed to ${show(core)}: ${show(welcome)}`);
      return "32 characters accepted; surrounding whitespace trimmed";
    },
  ],
  [
    "join_notice",
    async (ctx) => {
      const [alice] = await joined(ctx, "alice");
      const bob = await unjoined(ctx);
      const welcome = await bob.join(fresh("bob"));
      checkUsers(welcome, [sentinel.name, alice.name]);
      const notice = await alice.peer.take(
        isType("join", (ev) => ev.name === bob.name),
        5000,
        "join notice",
      );
      check(notice.count === 3, `count should be 3 (sentinel, alice, bob): ${show(notice)}`);
      check(!("users" in notice), `a join notice must not carry a user list: ${show(notice)}`);
      const own = (await bob.barrier()).filter(isType("join", (ev) => ev.name === bob.name));
      check(own.length === 0, `the joiner got its own join notice: ${show(own)}`);
      return `others got ${show(notice)}; the joiner did not`;
    },
  ],
  [
    "leave_notice",
    async (ctx) => {
      const [alice, bob] = await joined(ctx, "alice", "bob");
      await bob.peer.shutdown();
      const notice = await alice.peer.take(
        isType("leave", (ev) => ev.name === bob.name),
        5000,
        "leave notice",
      );
      check(notice.count === 2, `count should be 2 (sentinel, alice): ${show(notice)}`);
      check(!("users" in notice), `a leave notice must not carry a user list: ${show(notice)}`);
      return `others got ${show(notice)}`;
    },
  ],
  [
    "public_message",
    async (ctx) => {
      const [alice, bob, carol] = await joined(ctx, "alice", "bob", "carol");
      const text = `hello from alice ${RUN} ✓`;
      await alice.say(text);
      for (const other of [bob, carol]) {
        const ev = await other.peer.take(isType("message"), 5000, `message at ${other.name}`);
        checkMessage(ev, { from: alice.name, text });
      }
      const copies = (await alice.barrier()).filter(isType("message"));
      check(copies.length === 0, `the sender got its own public message back: ${show(copies)}`);
      return "every other client got it; the sender did not";
    },
  ],
  [
    "no_impersonation",
    async (ctx) => {
      const [alice, bob] = await joined(ctx, "alice", "bob");
      const text = `spoof ${RUN}`;
      await alice.sendJson({ type: "message", text, from: bob.name, ts: 1 });
      const ev = await bob.peer.take(isType("message"), 5000, "spoofed message");
      checkMessage(ev, { from: alice.name, text });
      return `client-sent from/ts ignored: ${show(ev)}`;
    },
  ],
  [
    "private_message",
    async (ctx) => {
      const [alice, bob, carol] = await joined(ctx, "alice", "bob", "carol");
      const secret = `psst ${RUN}`;
      await alice.say(secret, { to: bob.name });
      const ev = await bob.peer.take(isType("message"), 5000, "private message");
      checkMessage(ev, { from: alice.name, text: secret, to: bob.name });
      // Carol: the private message, had it been sent to her, would arrive
      // before this public marker from the same sender.
      const marker = `marker ${RUN}`;
      await alice.say(marker);
      const { before } = await carol.peer.takeUntil(
        isType("message", (m) => m.text === marker),
        5000,
        "public marker at carol",
      );
      const leaked = before.filter(isType("message", (m) => m.text === secret));
      check(leaked.length === 0, `a third client saw the private message: ${show(leaked)}`);
      const echoed = (await alice.barrier()).filter(isType("message", (m) => m.text === secret));
      const [dave] = await joined(ctx, "dave");
      const inHistory = dave.welcome.history.filter((m) => m.text === secret);
      check(inHistory.length === 0, `a private message went into the history: ${show(inHistory)}`);
      const echo = echoed.length ? `sender got a copy ${show(echoed[0])}` : "sender got no copy";
      return `only the addressee got it; not in history; ${echo}`;
    },
  ],
  [
    "typing",
    async (ctx) => {
      const [alice, bob, carol] = await joined(ctx, "alice", "bob", "carol");
      await alice.sendJson({ type: "typing" });
      for (const other of [bob, carol]) {
        const ev = await other.peer.take(isType("typing"), 5000, `typing at ${other.name}`);
        check(
          JSON.stringify(ev) === JSON.stringify({ type: "typing", name: alice.name }),
          `typing notice should be exactly {"type":"typing","name":...}: ${show(ev)}`,
        );
      }
      const own = (await alice.barrier()).filter(isType("typing"));
      check(own.length === 0, `the typist got its own typing notice: ${show(own)}`);
      return "others got the typing notice; the typist did not";
    },
  ],
  [
    "error_bad_json",
    (ctx) =>
      errorCase(ctx, "bad_json", [
        ["invalid JSON", (c) => c.peer.send("{not json")],
        ["a JSON array", (c) => c.peer.send('[{"type":"message","text":"hi"}]')],
        ["a JSON string", (c) => c.peer.send('"message"')],
        ["a binary frame", (c) => c.peer.send(Buffer.from('{"type":"typing"}'), { binary: true })],
      ]),
  ],
  [
    "error_unknown_type",
    (ctx) =>
      errorCase(ctx, "unknown_type", [["type dance", (c) => c.sendJson({ type: "dance" })]]),
  ],
  [
    "error_bad_name",
    (ctx) =>
      errorCase(
        ctx,
        "bad_name",
        [
          ["an empty name", (c) => c.sendJson({ type: "join", name: "" })],
          ["a whitespace-only name", (c) => c.sendJson({ type: "join", name: " \t " })],
          ["a 33-character name", (c) => c.sendJson({ type: "join", name: "x".repeat(33) })],
          ["a control character", (c) => c.sendJson({ type: "join", name: "bell\u0007man" })],
        ],
        { join: false },
      ),
  ],
  [
    "error_name_taken",
    async (ctx) => {
      const [alice] = await joined(ctx, "Alice");
      return errorCase(
        ctx,
        "name_taken",
        [
          ["the same name", (c) => c.sendJson({ type: "join", name: alice.name })],
          ["lower case", (c) => c.sendJson({ type: "join", name: alice.name.toLowerCase() })],
          ["upper case", (c) => c.sendJson({ type: "join", name: alice.name.toUpperCase() })],
        ],
        { join: false },
      );
    },
  ],
  [
    "error_not_joined",
    (ctx) =>
      errorCase(
        ctx,
        "not_joined",
        [
          ["a message before join", (c) => c.say("too early")],
          ["typing before join", (c) => c.sendJson({ type: "typing" })],
        ],
        { join: false },
      ),
  ],
  [
    "error_unknown_user",
    (ctx) =>
      errorCase(ctx, "unknown_user", [
        ["a private message to nobody", (c) => c.say("hello?", { to: fresh("nobody") })],
      ]),
  ],
  [
    "error_too_long",
    async (ctx) => {
      const detail = await errorCase(ctx, "too_long", [
        ["4001 characters", (c) => c.say("y".repeat(4001))],
      ]);
      const [alice, bob] = await joined(ctx, "alice", "bob");
      const text = "z".repeat(4000);
      checkMessage(await deliver(alice, bob, text), { from: alice.name, text });
      return `${detail}; 4000 characters accepted`;
    },
  ],
  [
    "history",
    async (ctx) => {
      // 55 messages from 11 senders (5 each, round robin) so that no single
      // client trips the rate limiter; each one is confirmed before the next
      // is sent, which fixes their order in the room.
      const observer = (await joined(ctx, "obs"))[0];
      const senders = await joined(ctx, ...Array.from({ length: 11 }, () => "h"));
      const sent = [];
      for (let i = 0; i < 55; i += 1) {
        const sender = senders[i % senders.length];
        const text = `history ${i} ${RUN}`;
        await deliver(sender, observer, text);
        sent.push({ from: sender.name, text });
      }
      const [late] = await joined(ctx, "late");
      const { history } = late.welcome;
      check(history.length === 50, `history should hold 50 messages, got ${history.length}`);
      sent.slice(-50).forEach((expected, i) => checkMessage(history[i], expected));
      return "welcome.history holds the last 50 of 55 public messages, oldest first";
    },
    20000,
  ],
  [
    "error_rate_limited",
    async (ctx) => {
      const [observer, flood] = await joined(ctx, "obs", "flood");
      // 200 frames at once: far beyond any sane per-second limit, yet few
      // enough that a server which disconnects persistent flooders (after
      // hundreds of refusals) still owes this client a working connection.
      const total = 200;
      for (let i = 0; i < total; i += 1) {
        flood.peer.ws.send(JSON.stringify({ type: "message", text: `burst ${i}` }));
      }
      // Every burst message is either delivered to the observer or answered
      // with rate_limited: wait until all 400 are accounted for.
      let delivered = 0;
      let limited = 0;
      await flood.peer.waitFor(
        () => {
          delivered += observer.peer.inbox.filter(isType("message")).length;
          observer.peer.inbox = observer.peer.inbox.filter((ev) => ev.type !== "message");
          const errors = flood.peer.inbox.filter(isType("error"));
          const wrong = errors.filter((ev) => ev.code !== "rate_limited");
          if (wrong.length) throw new Error(`unexpected errors in the burst: ${show(wrong)}`);
          limited += errors.length;
          flood.peer.inbox = flood.peer.inbox.filter((ev) => ev.type !== "error");
          if (flood.peer.closeInfo) throw new Error(`flood closed ${show(flood.peer.closeInfo)}`);
          return delivered + limited >= total ? true : undefined;
        },
        15000,
        "accounting for the burst",
        [observer.peer],
      ).catch((err) => {
        throw new Error(`${err.message} (delivered ${delivered}, limited ${limited})`);
      });
      check(limited >= 1, `a burst of ${total} messages was never rate limited`);
      const text = `after the flood ${RUN}`;
      checkMessage(await deliver(flood, observer, text), { from: flood.name, text });
      return `${limited} of ${total} rate limited, ${delivered} delivered; the connection kept working`;
    },
    25000,
  ],
  [
    "origin_foreign_refused",
    async (ctx) => {
      const peer = ctx.track(new Peer(originUrl, { origin: "http://evil.example" }, decode));
      const outcome = await withTimeout(
        peer.opened.then(
          () => "opened",
          () => "refused",
        ),
        5000,
        "foreign-origin handshake",
      );
      check(outcome === "refused", "a handshake from http://evil.example was accepted");
      check(peer.refusedStatus === 403, `expected HTTP 403, got ${show(peer.refusedStatus)}`);
      return "HTTP 403 for Origin: http://evil.example";
    },
  ],
  [
    "origin_same_host_accepted",
    async (ctx) => {
      const origin = `http://${new URL(originUrl).host}`;
      const chat = new Chat(ctx.track(await Peer.connect(originUrl, { origin }, decode)));
      await chat.join(fresh("browser"));
      return `Origin: ${origin} accepted`;
    },
  ],
  [
    "origin_absent_accepted",
    async (ctx) => {
      const chat = new Chat(ctx.track(await Peer.connect(originUrl, {}, decode)));
      check(chat.peer.ws.readyState === WebSocket.OPEN, "a handshake without Origin failed");
      await chat.join(fresh("script"));
      return "no Origin header accepted";
    },
  ],
  [
    "too_big_1009",
    async (ctx) => {
      const [alice, bob, big] = await joined(ctx, "alice", "bob", "big");
      big.peer.ws.send(JSON.stringify({ type: "message", text: "x".repeat(2 * 1024 * 1024) }));
      const info = await big.peer.waitClosed(10000, "close after a 2 MiB frame");
      check(info.code === 1009, `expected close 1009, got ${show(info)}`);
      await alice.peer.take(isType("leave", (ev) => ev.name === big.name), 5000, "leave of big");
      const text = `still chatting ${RUN}`;
      checkMessage(await deliver(alice, bob, text), { from: alice.name, text });
      const leaked = (await bob.barrier()).filter(isType("message", (m) => m.from === big.name));
      check(leaked.length === 0, `part of the oversized message was delivered: ${show(leaked)}`);
      return "the sender was closed with 1009; the others kept chatting";
    },
    15000,
  ],
];

/** After each case: every frame was JSON, and every client the case joined has left. */
async function afterEach(ctx) {
  for (const peer of ctx.peers) {
    const bad = peer.inbox.filter((ev) => ev.undecodable);
    check(bad.length === 0, `the server sent frames that are not JSON objects: ${show(bad)}`);
  }
  if (!sentinel.name) return;
  const joinedNames = ctx.peers.flatMap((peer) => (peer.joinedAs ? [peer.joinedAs] : []));
  await sentinel.peer.waitFor(
    () => {
      for (const ev of sentinel.peer.inbox.splice(0)) {
        if (ev.undecodable) throw new Error(`the sentinel got a bad frame: ${show(ev)}`);
        if (ev.type === "leave") left.add(ev.name);
      }
      return joinedNames.every((name) => left.has(name)) ? true : undefined;
    },
    5000,
    `leave notices for ${show(joinedNames.filter((n) => !left.has(n)))}`,
  );
}

await runSuite(cases, {
  open: (options = {}) => Peer.connect(url, options, decode),
  caseMs: 10000,
  watchdogMs: 60000,
  afterEach,
});
