// Drive one chat room served by TWO server processes that share it through
// Redis (labkit.chat.redis) with an independent client (the `ws` package).
//
// Usage: node cluster_suite.mjs ws://127.0.0.1:PORT_A/ ws://127.0.0.1:PORT_B/
//
// Every case opens its own room (/rooms/NAME, a fresh NAME), puts clients on
// both processes and checks that what one process's clients do reaches the
// other's exactly as the chat protocol says: the welcome lists everyone on
// both, notices carry one count, messages cross once, names are unique over
// both, history is shared, rooms stay apart.
//
// Ordering: frames on ONE connection arrive in the order the server wrote
// them; events of one room reach every process in the room's one order. To
// prove that something did NOT arrive, a case sends a public message after it
// (it lands later in the same room's log) and checks what came before.

import { randomBytes } from "node:crypto";

import { Peer, check, runSuite, show, urlFromArgs } from "./suite_lib.mjs";

const urlA = urlFromArgs("cluster_suite.mjs");
const urlB = process.argv[3];
if (!urlB || !/^wss?:\/\//.test(urlB)) {
  process.stderr.write("usage: node cluster_suite.mjs ws://HOST:PORT_A/ ws://HOST:PORT_B/\n");
  process.exit(2);
}

const RUN = randomBytes(3).toString("hex");
let counter = 0;
const fresh = (prefix) => `${prefix}-${++counter}-${RUN}`;

function decode(data, isBinary) {
  if (isBinary) return { undecodable: true, error: "binary frame from the server" };
  return JSON.parse(data.toString("utf8"));
}

const isType = (type, extra = () => true) => (ev) => ev.type === type && extra(ev);

/** A client in room `room` on the process at `base`, tracked by the case. */
async function open(ctx, base, room) {
  return ctx.track(await Peer.connect(`${base}rooms/${room}`, {}, decode));
}

async function join(peer, name) {
  await peer.send(JSON.stringify({ type: "join", name }));
  const { match } = await peer.takeUntil(
    (ev) => ev.type === "welcome" || ev.type === "error",
    5000,
    `welcome for ${name}`,
  );
  check(match.type === "welcome", `join as ${name} answered ${show(match)}`);
  return match;
}

const say = (peer, text, extra = {}) => peer.send(JSON.stringify({ type: "message", text, ...extra }));

/** Ann on A and Bob on B, in a fresh room. */
async function pair(ctx) {
  const room = fresh("room");
  const ann = await open(ctx, urlA, room);
  await join(ann, "Ann");
  const bob = await open(ctx, urlB, room);
  const welcome = await join(bob, "Bob");
  await ann.take(isType("join", (ev) => ev.name === "Bob"), 5000, "Bob's join notice on A");
  return { room, ann, bob, welcome };
}

const cases = [
  [
    "welcome_lists_both_processes",
    async (ctx) => {
      const room = fresh("room");
      const ann = await open(ctx, urlA, room);
      await join(ann, "Ann");
      const bob = await open(ctx, urlB, room);
      const welcome = await join(bob, "Bob");
      check(show(welcome.users) === show(["Ann", "Bob"]), `users ${show(welcome.users)}`);
      const notice = await ann.take(isType("join"), 5000, "join notice on A");
      check(notice.name === "Bob" && notice.count === 2, `notice ${show(notice)}`);
      return "Bob on B sees Ann on A; Ann gets the notice with count 2";
    },
  ],
  [
    "public_message_crosses_once",
    async (ctx) => {
      const { ann, bob } = await pair(ctx);
      await say(ann, "hello B");
      const got = await bob.take(isType("message", (ev) => ev.text === "hello B"), 5000, "on B");
      check(got.from === "Ann" && got.to === undefined && got.ts > 1.6e9, `event ${show(got)}`);
      await say(ann, "marker");
      const { before } = await bob.takeUntil(isType("message"), 5000, "marker on B");
      check(before.filter((ev) => ev.type === "message").length === 0, `twice: ${show(before)}`);
      await say(bob, "back");
      const { before: echo } = await ann.takeUntil(isType("message"), 5000, "B's message on A");
      check(!echo.some((ev) => ev.type === "message"), `Ann got her own: ${show(echo)}`);
      return "once, stamped by the server, never echoed";
    },
  ],
  [
    "private_message_crosses",
    async (ctx) => {
      const { room, ann, bob } = await pair(ctx);
      const cy = await open(ctx, urlB, room);
      await join(cy, "Cy");
      await say(ann, "psst", { to: "BOB" });
      const got = await bob.take(isType("message", (ev) => ev.text === "psst"), 5000, "on B");
      check(got.from === "Ann" && got.to === "Bob", `recipient got ${show(got)}`);
      const copy = await ann.take(isType("message", (ev) => ev.text === "psst"), 5000, "copy");
      check(show(copy) === show(got), `sender's copy ${show(copy)}`);
      await say(ann, "public");
      const { before } = await cy.takeUntil(isType("message"), 5000, "public on B");
      check(!before.some((ev) => ev.type === "message"), `Cy saw ${show(before)}`);
      return "to Bob on B, a copy to Ann on A, nothing to Cy";
    },
  ],
  [
    "typing_crosses",
    async (ctx) => {
      const { ann, bob } = await pair(ctx);
      await bob.send(JSON.stringify({ type: "typing" }));
      const got = await ann.take(isType("typing"), 5000, "typing on A");
      check(got.name === "Bob", `typing ${show(got)}`);
      return "Bob typing on B shows on A";
    },
  ],
  [
    "name_taken_across_processes",
    async (ctx) => {
      const { room } = await pair(ctx);
      const copycat = await open(ctx, urlB, room);
      await copycat.send(JSON.stringify({ type: "join", name: "ann" }));
      const { match } = await copycat.takeUntil(
        (ev) => ev.type === "error" || ev.type === "welcome",
        5000,
        "answer to the copycat",
      );
      check(match.type === "error" && match.code === "name_taken", `got ${show(match)}`);
      return "ann on B is taken by Ann on A";
    },
  ],
  [
    "history_across_processes",
    async (ctx) => {
      const { room, ann, bob } = await pair(ctx);
      await say(ann, "for the record");
      await bob.take(isType("message"), 5000, "on B");
      const late = await open(ctx, urlB, room);
      const welcome = await join(late, "Late");
      const texts = welcome.history.map((m) => m.text);
      check(show(texts) === show(["for the record"]), `history ${show(welcome.history)}`);
      check(show(welcome.users) === show(["Ann", "Bob", "Late"]), `users ${show(welcome.users)}`);
      return "a newcomer on B gets what was said on A";
    },
  ],
  [
    "rooms_apart",
    async (ctx) => {
      const { ann } = await pair(ctx);
      const other = fresh("other");
      const elsewhere = await open(ctx, urlB, other);
      const welcome = await join(elsewhere, "Ann");
      check(show(welcome.users) === show(["Ann"]), `users ${show(welcome.users)}`);
      const witness = await open(ctx, urlA, other); // on Ann's process, in the other room
      await join(witness, "Witness");
      await say(elsewhere, "other room");
      await witness.take(isType("message"), 5000, "the other room's message on A");
      await ann.send("{marker"); // answered by A after everything it already relayed
      const { before } = await ann.takeUntil(isType("error"), 5000, "Ann's marker");
      check(!before.some((ev) => ev.type === "message"), `leaked: ${show(before)}`);
      return "the same name in another room; nothing crosses rooms";
    },
  ],
  [
    "leave_crosses",
    async (ctx) => {
      const { ann, bob } = await pair(ctx);
      await ann.shutdown();
      const got = await bob.take(isType("leave"), 5000, "leave on B");
      check(got.name === "Ann" && got.count === 1, `leave ${show(got)}`);
      return "Ann closing on A: Bob on B gets the leave with count 1";
    },
  ],
];

await runSuite(cases, {
  open: (options = {}) => Peer.connect(urlA, options, decode),
  caseMs: 10000,
  watchdogMs: 60000,
});
