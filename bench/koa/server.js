// The tutorial's original stack, Koa2 + koa-websocket, as the reference for
// `make bench` (python -m bench). Two servers, chosen by argv[2]:
//
//   node server.js echo [port]   every message straight back (lesson 2)
//   node server.js chat [port]   a minimal chat room speaking labkit's JSON
//                                wire protocol (labkit/chat/protocol.py):
//                                join -> welcome + join notice, message ->
//                                every other member, close -> leave notice.
//
// The relay loops over the clients and calls send() on each, exactly as the
// tutorial does; ws frames each send separately. No compression (the ws
// default for servers). Prints "listening on ws://127.0.0.1:PORT/" when ready.

import Koa from "koa";
import websockify from "koa-websocket";

const kind = process.argv[2] ?? "echo";
const port = Number(process.argv[3] ?? 0);
const app = websockify(new Koa());

if (kind === "echo") {
  app.ws.use((ctx, next) => {
    ctx.websocket.on("message", (msg, isBinary) => ctx.websocket.send(msg, { binary: isBinary }));
    return next();
  });
} else if (kind === "chat") {
  const members = new Map(); // websocket -> name, in joining order
  const names = new Set();
  const history = [];
  const sendOthers = (text, except) => {
    for (const ws of members.keys()) {
      if (ws !== except && ws.readyState === 1) ws.send(text);
    }
  };
  app.ws.use((ctx, next) => {
    const ws = ctx.websocket;
    ws.on("message", (data, isBinary) => {
      let msg;
      try {
        msg = isBinary ? null : JSON.parse(data.toString());
      } catch {
        msg = null;
      }
      if (msg === null || typeof msg !== "object") {
        ws.send(JSON.stringify({ type: "error", code: "bad_json", message: "send JSON text" }));
        return;
      }
      const name = members.get(ws);
      if (msg.type === "join" && name === undefined && typeof msg.name === "string") {
        const wanted = msg.name.trim();
        if (!wanted || names.has(wanted)) {
          ws.send(JSON.stringify({ type: "error", code: "name_taken", message: "taken" }));
          return;
        }
        members.set(ws, wanted);
        names.add(wanted);
        const head = JSON.stringify({ type: "welcome", name: wanted, users: [...members.values()] });
        ws.send(`${head.slice(0, -1)},"history":[${history.join(",")}]}`);
        sendOthers(JSON.stringify({ type: "join", name: wanted, count: members.size }), ws);
      } else if (msg.type === "message" && name !== undefined && typeof msg.text === "string") {
        const ts = Math.round(Date.now()) / 1000;
        const text = JSON.stringify({ type: "message", from: name, text: msg.text, ts });
        history.push(text);
        if (history.length > 50) history.shift();
        sendOthers(text, ws);
      } else {
        ws.send(JSON.stringify({ type: "error", code: "unknown_type", message: "not handled" }));
      }
    });
    ws.on("close", () => {
      const name = members.get(ws);
      if (name === undefined) return;
      members.delete(ws);
      names.delete(name);
      sendOthers(JSON.stringify({ type: "leave", name, count: members.size }));
    });
    return next();
  });
} else {
  console.error(`unknown server kind ${kind}: use echo or chat`);
  process.exit(2);
}

const server = app.listen(port, "127.0.0.1", () => {
  console.log(`listening on ws://127.0.0.1:${server.address().port}/`);
});
process.on("SIGTERM", () => process.exit(0));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
