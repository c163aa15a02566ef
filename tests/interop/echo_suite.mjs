// Drive an echo server with an independent client (the `ws` package).
//
// Usage: node echo_suite.mjs ws://127.0.0.1:PORT/
//
// Each case opens its own connection, so one broken case cannot spoil the
// next. The sizes around 125/126 and 65535/65536 are the boundaries where the
// payload length switches between the 7-bit, 16-bit and 64-bit encodings of
// RFC 6455, section 5.2.

import { randomBytes } from "node:crypto";

import { Peer, check, runSuite, show, urlFromArgs } from "./suite_lib.mjs";

const url = urlFromArgs("echo_suite.mjs");

const open = () => Peer.connect(url);

/** Send one message and return the first message echoed back. */
async function roundTrip(ctx, data, options = {}) {
  const peer = await ctx.open();
  await peer.send(data, options);
  return peer.take(() => true, 5000, `echo of ${show(data)}`);
}

function binaryCase(size) {
  return [
    `binary_${size}`,
    async (ctx) => {
      const payload = randomBytes(size);
      const echo = await roundTrip(ctx, payload, { binary: true });
      check(echo.isBinary, "echo of a binary message came back as text");
      check(
        Buffer.compare(echo.data, payload) === 0,
        `echo differs: sent ${size} bytes, got ${echo.data.length}`,
      );
      return `${size} bytes echoed byte-exact`;
    },
  ];
}

/** Send `chunks` as one fragmented message: every chunk but the last has FIN=0. */
async function sendFragmented(peer, chunks, binary) {
  for (const [index, chunk] of chunks.entries()) {
    await peer.send(chunk, { binary, fin: index === chunks.length - 1 });
  }
}

function closeCase(code, reason) {
  return [
    `close_${code}`,
    async (ctx) => {
      const peer = await ctx.open();
      peer.ws.close(code, reason);
      const info = await peer.waitClosed(5000, `close ${code}`);
      check(info.code === code, `sent close ${code}, server answered ${show(info)}`);
      // RFC 6455, section 5.5.1 only asks the server to echo the status code.
      return `server echoed code ${info.code} (reason ${show(info.reason)})`;
    },
  ];
}

const cases = [
  [
    "text_echo",
    async (ctx) => {
      const text = "hello, 你好, 🌍";
      const echo = await roundTrip(ctx, text);
      check(!echo.isBinary, "echo of a text message came back as binary");
      check(echo.data.toString("utf8") === text, `got ${show(echo.data.toString("utf8"))}`);
      return "text echoed unchanged";
    },
  ],
  [
    "binary_echo",
    async (ctx) => {
      const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const echo = await roundTrip(ctx, payload, { binary: true });
      check(echo.isBinary, "echo of a binary message came back as text");
      check(Buffer.compare(echo.data, payload) === 0, "bytes 0..255 did not come back unchanged");
      return "all 256 byte values echoed";
    },
  ],
  ...[0, 125, 126, 65535, 65536, 300000].map(binaryCase),
  [
    "text_65536",
    async (ctx) => {
      // 21845 three-byte characters plus one ASCII letter: exactly 65536 bytes of UTF-8.
      const text = `${"€".repeat(21845)}a`;
      const echo = await roundTrip(ctx, text);
      check(!echo.isBinary, "echo of a text message came back as binary");
      check(echo.data.length === 65536, `expected 65536 bytes, got ${echo.data.length}`);
      check(echo.data.toString("utf8") === text, "text differs");
      return "65536-byte text echoed unchanged";
    },
  ],
  [
    "fragmented_text",
    async (ctx) => {
      const peer = await ctx.open();
      await sendFragmented(peer, ["frag", "men", "ted"], false);
      const echo = await peer.take(() => true, 5000, "echo of a fragmented message");
      check(!echo.isBinary, "echo came back as binary");
      check(echo.data.toString("utf8") === "fragmented", `got ${show(echo.data.toString())}`);
      return "three fragments echoed as one message";
    },
  ],
  [
    "fragmented_utf8_split",
    async (ctx) => {
      // RFC 6455, section 5.6: only the whole message must be valid UTF-8; a
      // character may be split across fragments.
      const bytes = Buffer.from("€uro", "utf8");
      const peer = await ctx.open();
      await sendFragmented(peer, [bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2)], false);
      const echo = await peer.take(() => true, 5000, "echo of a split character");
      check(echo.data.toString("utf8") === "€uro", `got ${show(echo.data.toString())}`);
      return "a character split across fragments was reassembled";
    },
  ],
  [
    "fragmented_binary",
    async (ctx) => {
      const chunks = [randomBytes(1000), randomBytes(1000), randomBytes(1000)];
      const peer = await ctx.open();
      await sendFragmented(peer, chunks, true);
      const echo = await peer.take(() => true, 5000, "echo of fragmented binary");
      check(echo.isBinary, "echo came back as text");
      check(Buffer.compare(echo.data, Buffer.concat(chunks)) === 0, "bytes differ");
      return "3000 bytes in three fragments echoed as one message";
    },
  ],
  [
    "ping_pong",
    async (ctx) => {
      const payload = Buffer.from("labkit-ping-42");
      const peer = await ctx.open();
      peer.ws.ping(payload);
      const pong = await peer.waitFor(
        () => peer.pongs.find((data) => Buffer.compare(data, payload) === 0),
        5000,
        "pong with the ping's payload",
      );
      return `pong carried ${show(pong.toString())}`;
    },
  ],
  closeCase(1000, "done"),
  closeCase(4001, "custom reason"),
  [
    "invalid_utf8",
    async (ctx) => {
      const peer = await ctx.open();
      // `ws` does not validate what it sends, so this puts raw bytes that are
      // not UTF-8 into a text frame (RFC 6455, section 8.1: fail with 1007).
      await peer.send(Buffer.from([0x68, 0x69, 0xff, 0xfe]), { binary: false });
      const info = await peer.waitClosed(5000, "close after invalid UTF-8");
      check(info.code === 1007, `expected close 1007, got ${show(info)}`);
      check(peer.inbox.length === 0, `the server echoed something: ${show(peer.inbox)}`);
      return "closed with 1007";
    },
  ],
];

await runSuite(cases, { open, caseMs: 8000, watchdogMs: 30000 });
