// The ferrochain explorer: a client of the node's own REST API, routed by the URL's fragment.
//
// Every value from the node enters the page as text (textContent, attributes set one by one),
// never as markup, so nothing a block or a peer carries can run in the page. The page keeps up
// with the node through GET /events and, where that is missing or fails, by polling GET /status
// every 2 s; either way it redraws the current page without a reload.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  /** Blocks the chart covers (one /chain page: the node answers at most 1,000). */
  const CHART_BLOCKS = 300;
  /** Blocks listed on the home page. */
  const RECENT = 12;
  const POLL_MS = 2000;
  const DEBOUNCE_MS = 250;
  const MIN_GAP_MS = 1000;
  const UNITS_PER_COIN = 100000000n;

  const view = document.getElementById("view");
  const message = document.getElementById("search-message");
  const live = document.getElementById("live");

  // ---- building the page ------------------------------------------------------------------

  /** An element with attributes and children; strings become text nodes, null is skipped. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function link(route, text, attrs) {
    return el("a", Object.assign({ href: "#/" + route }, attrs || {}), text);
  }

  const blockLink = (id, text, attrs) => link("block/" + encodeURIComponent(id), text, attrs);
  const txLink = (id, text) => link("tx/" + encodeURIComponent(id), text);
  const addressLink = (address, text) =>
    link("address/" + encodeURIComponent(address), text || shortAddress(address), { title: address });

  function section(id, title, ...children) {
    return el("section", { id, class: "card" }, el("h2", null, title), children);
  }

  /** A table whose rows are arrays of cells; it scrolls sideways on a narrow screen. */
  function table(id, headings, rows, empty) {
    if (rows.length === 0) return el("p", { id, class: "empty" }, empty);
    const head = el("tr", null, headings.map((h) => el("th", { scope: "col" }, h)));
    const body = rows.map((cells) => el("tr", null, cells.map((c) => el("td", null, c))));
    return el("div", { class: "scroll" }, el("table", { id }, el("thead", null, head), el("tbody", null, body)));
  }

  /** A list of label and value pairs. */
  function fields(id, pairs) {
    return el(
      "dl",
      { id, class: "fields" },
      pairs.filter(Boolean).map(([label, value, valueId]) => [el("dt", null, label), el("dd", { id: valueId }, value)])
    );
  }

  function code(text, attrs) {
    return el("code", Object.assign({ class: "hash" }, attrs || {}), text);
  }

  // ---- formatting -------------------------------------------------------------------------

  const short = (hash) => (hash && hash.length > 16 ? hash.slice(0, 8) + "…" + hash.slice(-6) : String(hash));
  const shortAddress = (a) => (a && a.length > 20 ? a.slice(0, 10) + "…" + a.slice(-6) : String(a));
  const pad = (n) => String(n).padStart(2, "0");

  /** A block timestamp (Unix ms) as local date and time. */
  function time(ms) {
    const d = new Date(ms);
    if (Number.isNaN(d.getTime())) return "?";
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function ago(ms) {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} d ago`;
  }

  function duration(seconds) {
    if (seconds === 0) return "0 s";
    if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
    if (seconds < 100) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
    if (seconds < 6000) return `${(seconds / 60).toFixed(1)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  }

  /** An amount in units as coins, trailing zeros dropped: "12.5 FER". */
  function coins(units) {
    let n;
    try {
      n = BigInt(units);
    } catch (_) {
      return String(units);
    }
    const whole = n / UNITS_PER_COIN;
    const frac = (n % UNITS_PER_COIN).toString().padStart(8, "0").replace(/0+$/, "");
    return `${whole}${frac ? "." + frac : ""} FER`;
  }

  function hashRate(h) {
    if (!(h > 0)) return "0 H/s";
    const units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s"];
    let i = 0;
    while (h >= 1000 && i < units.length - 1) {
      h /= 1000;
      i++;
    }
    return `${h.toFixed(h < 10 ? 2 : 1)} ${units[i]}`;
  }

  /** The leading zero bits a compact target (8 hex digits) is worth, as the node counts them. */
  function targetBits(compact) {
    const c = parseInt(compact, 16);
    const shift = Math.floor(c / 0x1000000);
    const mantissa = c % 0x1000000;
    return 64 - (Math.log2(mantissa) + shift);
  }

  const plural = (n, one, many) => `${n} ${n === 1 ? one : many || one + "s"}`;
  const isTransfer = (tx) => tx !== null && typeof tx === "object" && tx.type === "transfer";
  const isReward = (tx) => tx !== null && typeof tx === "object" && tx.type === "reward";

  // ---- the API ----------------------------------------------------------------------------

  class Unreachable extends Error {}

  /** GET `path`: `{status, body}` (body null when not JSON); throws Unreachable if the node is. */
  async function api(path) {
    let response;
    try {
      response = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
    } catch (e) {
      throw new Unreachable(`cannot reach the node (${e.message})`);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    return { status: response.status, body };
  }

  /** GET `path`, which must answer 200; otherwise throws with the node's own message. */
  async function need(path) {
    const { status, body } = await api(path);
    if (status !== 200) {
      const why = body && body.message ? body.message : `HTTP ${status}`;
      throw new Error(`${path}: ${why}`);
    }
    return body;
  }

  /** GET `path`, or `fallback` when the node answers anything but 200 or cannot be reached. */
  async function maybe(path, fallback) {
    try {
      const { status, body } = await api(path);
      return status === 200 ? body : fallback;
    } catch (_) {
      return fallback;
    }
  }

  // ---- pages ------------------------------------------------------------------------------

  async function homePage() {
    const status = await need("/status");
    const length = status.length;
    const count = Math.min(length, CHART_BLOCKS);
    const [page, pending, nodes, reorgs] = await Promise.all([
      maybe(`/headers?from=${length - count}&limit=${count}`, { headers: [] }),
      maybe("/transactions/pending", null),
      maybe("/nodes", null),
      maybe("/chain/reorgs", null),
    ]);
    // Headers only: the chart and the list need no entries, and blocks can be megabytes.
    const blocks = page.headers || [];
    const mining = status.mining || {};
    const rate = mining.active ? mining.hash_rate : status.last_mined ? status.last_mined.hash_rate : 0;
    const peerViews = (nodes && nodes.peers) || [];
    const usable = peerViews.filter((p) => p.state === "ok").length;

    const summary = el(
      "section",
      { id: "summary", class: "card" },
      el("h2", null, "Tip"),
      el("p", { class: "tip" }, blockLink(status.tip, code(status.tip, { id: "tip-hash" }), { title: "the block at the tip" })),
      el(
        "div",
        { class: "stats" },
        stat("Height", String(status.height), "tip-height"),
        stat("Difficulty", `${Number(status.difficulty).toFixed(2)} bits`, "difficulty"),
        stat(
          "Hash rate",
          hashRate(rate),
          "hash-rate",
          [mining.active ? "mining now" : "last search", mining.threads ? plural(mining.threads, "thread") : null, mining.kernel]
            .filter(Boolean)
            .join(", ")
        ),
        stat("Mempool", plural(status.mempool || 0, "transfer"), "mempool-count"),
        stat("Peers", peerViews.length ? `${usable} of ${peerViews.length} usable` : "none", "peer-count"),
        stat("Sync", status.syncing ? "syncing" : "in step", "syncing", status.orphans ? plural(status.orphans, "orphan") : null)
      )
    );

    return el(
      "div",
      { id: "page-home", class: "page" },
      summary,
      section("chart", `Block times and difficulty, last ${plural(blocks.length, "block")}`, chart(blocks, status.params)),
      section("recent", "Recent blocks", recentBlocks(blocks.slice(-RECENT).reverse())),
      section("mempool", `Mempool (${pending ? pending.count : "?"})`, mempoolTable(pending)),
      section("peers", `Peers (${peerViews.length})`, peerTable(nodes)),
      section("reorgs", "Recent reorganisations", reorgList(reorgs))
    );
  }

  function stat(label, value, id, note) {
    return el("div", { class: "stat" }, el("span", { class: "label" }, label), el("strong", { id }, value), note ? el("small", null, note) : null);
  }

  function recentBlocks(blocks) {
    const rows = blocks.map((b) => [
      blockLink(b.index, String(b.index)),
      blockLink(b.hash, code(short(b.hash)), { title: b.hash }),
      el("span", { title: time(b.timestamp) }, ago(b.timestamp)),
      String(b.entries),
      byteSize(b.bytes),
    ]);
    return table("recent-blocks", ["Height", "Hash", "Mined", "Entries", "Size"], rows, "No blocks yet.");
  }

  /** A size in bytes, as people read it. */
  function byteSize(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / (1024 * 1024)).toFixed(2)} MiB`;
  }

  function mempoolTable(pending) {
    if (!pending) return el("p", { class: "empty" }, "The mempool could not be read.");
    const rows = pending.transactions.map((t) => [
      txLink(t.id, code(short(t.id))),
      addressLink(t.from),
      addressLink(t.to),
      coins(t.amount),
      coins(t.fee),
    ]);
    return table("mempool-list", ["Id", "From", "To", "Amount", "Fee"], rows, "Empty: no transfer is waiting.");
  }

  function peerTable(nodes) {
    if (!nodes) return el("p", { class: "empty" }, "The peer list could not be read.");
    const rows = (nodes.peers || []).map((p) => {
      const banned = p.banned_until ? `until ${time(p.banned_until)}${p.ban_reason ? ": " + p.ban_reason : ""}` : "";
      const trouble = p.last_error ? `${plural(p.failures || 0, "failure")}: ${p.last_error}` : "";
      return [
        el("span", { class: "url" }, p.url),
        el("span", { class: `badge state-${String(p.state).replace(/[^a-z_]/g, "")}` }, p.state),
        p.source,
        p.last_heard ? ago(p.last_heard) : "never",
        el("span", { class: "wrap" }, [banned, trouble].filter(Boolean).join("; ")),
      ];
    });
    return table("peer-list", ["Peer", "State", "Source", "Heard", "Ban or trouble"], rows, "No peers.");
  }

  function reorgList(answer) {
    const reorgs = (answer && answer.reorgs) || [];
    if (reorgs.length === 0) return el("p", { id: "reorg-list", class: "empty" }, "none");
    const rows = reorgs
      .slice()
      .reverse()
      .map((r) => [
        r.time ? time(r.time < 1e12 ? r.time * 1000 : r.time) : "?",
        String(r.depth),
        blockLink(r.fork_height, String(r.fork_height)),
        el("span", null, (r.replaced || []).map((h, i) => [i ? ", " : "", blockLink(h, code(short(h)), { title: h })])),
        r.tip ? blockLink(r.tip, code(short(r.tip)), { title: r.tip }) : "",
      ]);
    return table("reorg-list", ["When", "Depth", "Fork height", "Blocks replaced", "New tip"], rows, "none");
  }

  /** Block intervals (bars, left axis) and difficulty (line, right axis) as inline SVG. */
  function chart(blocks, params) {
    // An interval from the genesis block (a fixed, old timestamp) says nothing of mining.
    const points = [];
    for (let i = 1; i < blocks.length; i++) {
      if (blocks[i - 1].index === 0) continue;
      const seconds = Math.max(0, (blocks[i].timestamp - blocks[i - 1].timestamp) / 1000);
      points.push({ height: blocks[i].index, seconds, bits: targetBits(blocks[i].target) });
    }
    if (points.length < 2) return el("p", { class: "empty" }, "Too few blocks for a chart yet.");

    // Drawn at about the size it is shown, so its labels stay legible on a phone.
    const W = Math.round(Math.min(800, Math.max(340, view.clientWidth - 60)));
    const H = W < 600 ? 200 : 240, L = 48, R = 52, T = 14, B = 30;
    const plotW = W - L - R, plotH = H - T - B;
    // One long wait (a node stopped for a day) would flatten every other bar: the scale stops
    // at a few times the usual interval, and taller bars are drawn clipped, in another colour.
    const sorted = points.map((p) => p.seconds).sort((a, b) => a - b);
    const usual = sorted[Math.floor(sorted.length * 0.9)];
    const maxTime = (sorted[sorted.length - 1] > 3 * usual && usual > 0 ? 3 * usual : sorted[sorted.length - 1]) || 1;
    let lo = Math.min(...points.map((p) => p.bits)), hi = Math.max(...points.map((p) => p.bits));
    if (hi - lo < 0.5) {
      lo -= 0.5;
      hi += 0.5;
    }
    const x = (i) => L + (plotW * (i + 0.5)) / points.length;
    const yTime = (s) => T + plotH - (plotH * Math.min(s, maxTime)) / maxTime;
    const yBits = (b) => T + plotH - (plotH * (b - lo)) / (hi - lo);
    const barW = Math.min(14, Math.max(1, (plotW / points.length) * 0.7));

    const bars = points.map((p, i) =>
      svg("rect", { x: (x(i) - barW / 2).toFixed(1), y: yTime(p.seconds).toFixed(1), width: barW.toFixed(1), height: (T + plotH - yTime(p.seconds)).toFixed(1), class: p.seconds > maxTime ? "bar clipped" : "bar" },
        svg("title", null, `block ${p.height}: ${duration(p.seconds)} after its parent, ${p.bits.toFixed(2)} bits`))
    );
    const clipped = points.filter((p) => p.seconds > maxTime).length;
    const line = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${yBits(p.bits).toFixed(1)}`).join(" ");
    const grid = [0, 0.5, 1].map((f) => {
      const y = T + plotH - plotH * f;
      return [
        svg("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }),
        svg("text", { x: L - 6, y: y + 4, class: "axis time", "text-anchor": "end" }, duration(maxTime * f)),
        svg("text", { x: W - R + 6, y: y + 4, class: "axis bits" }, `${(lo + (hi - lo) * f).toFixed(1)} b`),
      ];
    });
    const first = points[0].height, last = points[points.length - 1].height;
    const labels = [
      svg("text", { x: L, y: H - 8, class: "axis" }, `height ${first}`),
      svg("text", { x: W - R, y: H - 8, class: "axis", "text-anchor": "end" }, `height ${last}`),
    ];
    const picture = svg(
      "svg",
      { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": "block times and difficulty" },
      svg("title", null, "Seconds between blocks (bars) and difficulty in bits (line)"),
      grid,
      bars,
      svg("path", { d: line, class: "difficulty" }),
      labels
    );
    const mean = points.reduce((s, p) => s + p.seconds, 0) / points.length;
    const aim = params && params.retarget ? ` (the chain aims at ${duration(params.retarget.block_time_ms / 1000)})` : "";
    return [
      el("div", { class: "legend" },
        el("span", { class: "key bar-key" }, "time since the previous block"),
        el("span", { class: "key line-key" }, "difficulty (bits)"),
        el("span", null, `mean ${duration(mean)}${aim}`),
        clipped ? el("span", null, `${plural(clipped, "longer wait")} cut at ${duration(maxTime)} (darker; longest ${duration(sorted[sorted.length - 1])})`) : null),
      picture,
    ];
  }

  async function blockPage(id) {
    const found = await api(`/blocks/${encodeURIComponent(id)}`);
    if (found.status !== 200) return missing("block", id, found.body);
    const b = found.body;
    const [status, atHeight, nextBlock] = await Promise.all([
      need("/status"),
      maybe(`/blocks/${b.index}`, null),
      maybe(`/blocks/${b.index + 1}`, null),
    ]);
    const onMain = atHeight !== null && atHeight.hash === b.hash;
    const next = onMain && nextBlock && nextBlock.previous_hash === b.hash ? nextBlock : null;
    const branch = onMain
      ? el("span", { class: "badge state-ok" }, "main chain")
      : el("span", null, el("span", { class: "badge state-banned" }, "side branch"),
          atHeight ? [" — the main chain has ", blockLink(atHeight.hash, code(short(atHeight.hash)), { title: atHeight.hash }), " at this height"] : "");
    const entries = b.transactions.map((tx, i) => entryRow(tx, i));
    return el(
      "div",
      { id: "page-block", class: "page" },
      section(
        "block",
        `Block ${b.index}`,
        fields("block-fields", [
          ["Height", String(b.index), "block-height"],
          ["Hash", code(b.hash), "block-hash"],
          ["Branch", branch, "block-branch"],
          ["Confirmations", onMain ? String(status.height - b.index + 1) : "0 (not on the main chain)", "block-confirmations"],
          ["Mined", `${time(b.timestamp)} (${ago(b.timestamp)})`],
          ["Previous", b.index > 0 ? blockLink(b.previous_hash, code(b.previous_hash)) : "none (genesis)", "block-previous"],
          ["Next", next ? blockLink(next.hash, code(next.hash)) : onMain ? "none yet (this is the tip)" : "not followed on the main chain", "block-next"],
          ["Merkle root", code(b.merkle_root)],
          ["Target", `${b.target} (${targetBits(b.target).toFixed(2)} bits)`],
          ["Nonce", String(b.nonce)],
          ["Version", String(b.version)],
        ]),
        el("nav", { class: "pager" },
          b.index > 0 ? blockLink(b.previous_hash, "← previous") : el("span"),
          next ? blockLink(next.hash, "next →") : el("span"))
      ),
      section("entries", `Entries (${b.transactions.length})`,
        table("entry-list", ["#", "Kind", "Id", "What"], entries, "No entries."))
    );
  }

  function entryRow(tx, i) {
    if (isTransfer(tx)) {
      return [String(i), "transfer", txLink(tx.id, code(short(tx.id))),
        el("span", null, addressLink(tx.from), " → ", addressLink(tx.to), ` ${coins(tx.amount)} (fee ${coins(tx.fee)}, nonce ${tx.nonce})`)];
    }
    if (isReward(tx)) {
      return [String(i), "reward", txLink(tx.id, code(short(tx.id))), el("span", null, addressLink(tx.to), ` ${coins(tx.amount)}`)];
    }
    return [String(i), "note", "", el("q", { class: "note" }, String(tx))];
  }

  async function txPage(id) {
    const found = await api(`/transactions/${encodeURIComponent(id)}`);
    if (found.status !== 200) return missing("transaction", id, found.body);
    const view = found.body;
    const tx = view.transaction;
    const pending = view.status === "pending";
    let where = [];
    if (!pending) {
      const status = await need("/status");
      where = [
        ["Block", blockLink(view.block, code(view.block))],
        ["Height", blockLink(view.index, String(view.index))],
        ["Confirmations", String(status.height - view.index + 1), "tx-confirmations"],
      ];
    }
    const txId = isTransfer(tx) || isReward(tx) ? tx.id : id;
    const details = isTransfer(tx)
      ? [
          ["Kind", "transfer"],
          ["From", addressLink(tx.from, tx.from)],
          ["To", addressLink(tx.to, tx.to)],
          ["Amount", coins(tx.amount)],
          ["Fee", coins(tx.fee)],
          ["Nonce", String(tx.nonce)],
          ["Signature", code(tx.signature)],
        ]
      : isReward(tx)
        ? [["Kind", "block reward"], ["To", addressLink(tx.to, tx.to)], ["Amount", coins(tx.amount)], ["For height", String(tx.height)]]
        : [["Kind", "note"], ["Text", el("q", { class: "note" }, String(tx))]];
    return el(
      "div",
      { id: "page-tx", class: "page" },
      section(
        "transaction",
        pending ? "Pending transaction" : "Transaction",
        fields("tx-fields", [
          ["Id", code(txId), "tx-id"],
          ["Status", el("span", { class: `badge ${pending ? "state-backoff" : "state-ok"}` }, pending ? "pending (in the mempool)" : "confirmed"), "tx-status"],
          ...where,
          ...details,
        ])
      )
    );
  }

  async function addressPage(address) {
    const found = await api(`/accounts/${encodeURIComponent(address)}`);
    if (found.status !== 200) return missing("address", address, found.body);
    const account = found.body;
    const history = await need(`/accounts/${encodeURIComponent(address)}/transactions`);
    const rows = history.transactions.map(historyRow);
    const body = el("tbody", null, rows.map((cells) => el("tr", null, cells.map((c) => el("td", null, c)))));
    const older = history.next ? moreButton(address, history.next, body) : null;
    const pendingRows = history.pending.map((t) => [
      txLink(t.id, code(short(t.id))),
      t.from === address ? "sent" : "received",
      addressLink(t.from === address ? t.to : t.from),
      coins(t.amount),
      coins(t.fee),
    ]);
    return el(
      "div",
      { id: "page-address", class: "page" },
      section(
        "account",
        "Address",
        fields("address-fields", [
          ["Address", code(account.address), "address"],
          ["Balance", coins(account.balance), "address-balance"],
          ["Nonce", `${account.nonce} mined (next transfer: ${account.next_nonce})`],
          ["Pending", account.pending.count ? `${plural(account.pending.count, "transfer")} spending ${coins(account.pending.spend)}` : "nothing"],
        ])
      ),
      section("address-pending", `Pending (${history.pending.length})`,
        table("pending-list", ["Id", "Direction", "With", "Amount", "Fee"], pendingRows, "Nothing waiting in the mempool.")),
      section(
        "history",
        "History",
        rows.length === 0
          ? el("p", { class: "empty" }, "No mined transfers or rewards yet.")
          : el("div", { class: "scroll" }, el("table", { id: "history-list" },
              el("thead", null, el("tr", null, ["Position", "Mined", "Direction", "With", "Amount", "Fee", "Confirmations", "Id"].map((h) => el("th", { scope: "col" }, h)))),
              body)),
        older
      )
    );
  }

  function historyRow(item) {
    const tx = item.transaction;
    const other = isTransfer(tx) ? (item.direction === "sent" ? tx.to : tx.from) : null;
    return [
      blockLink(item.block, item.position, { title: item.block }),
      el("span", { title: time(item.time) }, ago(item.time)),
      item.direction === "self" ? "to self" : item.direction,
      other ? addressLink(other) : isReward(tx) ? "block reward" : "",
      isTransfer(tx) || isReward(tx) ? coins(tx.amount) : "",
      isTransfer(tx) ? coins(tx.fee) : "",
      String(item.confirmations),
      isTransfer(tx) || isReward(tx) ? txLink(tx.id, code(short(tx.id))) : "",
    ];
  }

  /** A button that appends the next, older page of history to `body`. */
  function moreButton(address, before, body) {
    const button = el("button", { type: "button", class: "more" }, "Older entries");
    let next = before;
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const page = await need(`/accounts/${encodeURIComponent(address)}/transactions?before=${encodeURIComponent(next)}`);
        for (const cells of page.transactions.map(historyRow)) body.append(el("tr", null, cells.map((c) => el("td", null, c))));
        next = page.next;
        button.disabled = !next;
        if (!next) button.textContent = "No older entries";
      } catch (e) {
        button.disabled = false;
        button.textContent = `Older entries (failed: ${e.message})`;
      }
    });
    return button;
  }

  function missing(kind, id, body) {
    const why = body && body.message ? body.message : `no ${kind} ${id}`;
    return el(
      "div",
      { id: "page-missing", class: "page" },
      section("missing-card", `No such ${kind}`, el("p", null, why), el("p", null, link("", "Back to the tip")))
    );
  }

  // ---- routing and drawing ----------------------------------------------------------------

  /** The page the fragment names: [builder, argument]. */
  function route() {
    const parts = location.hash.replace(/^#\/?/, "").split("/");
    const arg = parts.length > 1 ? decodeURIComponent(parts.slice(1).join("/")) : "";
    switch (parts[0]) {
      case "block":
        return [blockPage, arg, `block ${arg.length > 16 ? short(arg) : arg}`];
      case "tx":
        return [txPage, arg, `transaction ${short(arg)}`];
      case "address":
        return [addressPage, arg, `address ${shortAddress(arg)}`];
      default:
        return [homePage, null, null];
    }
  }

  let drawn = 0;

  /** Draws the current page; a newer draw started meanwhile wins. A live redraw that fails keeps
   *  what is shown (the indicator says the node is away). */
  async function render(liveRedraw) {
    const generation = ++drawn;
    const [build, arg, title] = route();
    let page;
    try {
      page = await build(arg);
    } catch (e) {
      if (generation !== drawn) return;
      if (liveRedraw) {
        setLive("offline", "the node did not answer the last refresh");
        return;
      }
      page = el("div", { id: "page-error", class: "page" }, section("error-card", "The node could not be read", el("p", null, e.message)));
    }
    if (generation !== drawn) return;
    view.replaceChildren(page);
    document.title = title ? `${title} · ferrochain explorer` : "ferrochain explorer";
  }

  // ---- search -----------------------------------------------------------------------------

  function say(text) {
    message.textContent = text;
    message.hidden = !text;
  }

  async function search(query) {
    const q = query.trim();
    if (!q) return;
    say("");
    try {
      if (/^\d+$/.test(q)) {
        if ((await api(`/blocks/${q}`)).status === 200) return go(`block/${q}`);
        const status = await maybe("/status", null);
        return say(`No block at height ${q}${status ? ` (the chain's height is ${status.height})` : ""}.`);
      }
      if (/^[0-9a-fA-F]{64}$/.test(q)) {
        const hex = q.toLowerCase();
        if ((await api(`/blocks/${hex}`)).status === 200) return go(`block/${hex}`);
        if ((await api(`/transactions/${hex}`)).status === 200) return go(`tx/${hex}`);
        return say(`Nothing matches ${q}: no block or transaction has that hash.`);
      }
      if (/^fc1/i.test(q)) {
        const answer = await api(`/accounts/${encodeURIComponent(q)}`);
        if (answer.status === 200) return go(`address/${encodeURIComponent(q)}`);
        return say(`Not an address: ${answer.body && answer.body.message ? answer.body.message : q}`);
      }
      say(`Nothing matches "${q}": enter a block height, a 64-character block hash or transaction id, or an address starting with fc1.`);
    } catch (e) {
      say(e.message);
    }
  }

  function go(path) {
    if (location.hash === "#/" + path) {
      document.getElementById("search").value = "";
      render(false);
    }
    else location.hash = "#/" + path;
  }

  // ---- keeping up with the node -----------------------------------------------------------

  let timer = null;
  let lastDraw = 0;
  let poller = null;
  /** What the last poll saw; empty, so the first poll redraws whatever was missed before it. */
  let lastSeen = "";

  /** Redraws soon: events arriving together make one redraw, and redraws (each reads a page of
   *  the chain) start at most once a second however busy the node is. */
  function refreshSoon() {
    if (timer !== null) return;
    const wait = Math.max(DEBOUNCE_MS, lastDraw + MIN_GAP_MS - Date.now());
    timer = setTimeout(() => {
      timer = null;
      lastDraw = Date.now();
      render(true);
    }, wait);
  }

  function setLive(state, why) {
    live.textContent = state;
    live.className = `live live-${state}`;
    live.title = why;
  }

  /** The fallback: GET /status every 2 s, redrawing when the tip or the mempool moves. */
  function startPolling(why) {
    setLive("polling", why);
    if (poller !== null) return;
    const poll = async () => {
      try {
        const { status, body } = await api("/status");
        if (status !== 200 || !body) throw new Error(`HTTP ${status}`);
        const seen = `${body.tip} ${body.mempool} ${body.peers.length}`;
        if (live.textContent !== "live") setLive("polling", why);
        if (seen !== lastSeen) refreshSoon();
        lastSeen = seen;
      } catch (_) {
        setLive("offline", "the node does not answer GET /status");
      }
    };
    poll();
    poller = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    clearInterval(poller);
    poller = null;
    lastSeen = "";
  }

  function startEvents() {
    if (typeof EventSource !== "function") return startPolling("this browser has no EventSource: polling /status every 2 s");
    const events = new EventSource("/events");
    let opened = false;
    events.onopen = () => {
      stopPolling();
      setLive("live", "following the node's event stream (GET /events)");
      // Events may have been missed while away.
      if (opened) refreshSoon();
      opened = true;
    };
    for (const kind of ["block", "reorg", "mempool", "peer", "reset"]) events.addEventListener(kind, refreshSoon);
    // A search's reports come every second: they update the hash rate in place, no redraw.
    events.addEventListener("mining", (event) => {
      const rate = document.getElementById("hash-rate");
      const mining = JSON.parse(event.data).mining || {};
      if (rate && mining.active) rate.textContent = hashRate(mining.hash_rate);
    });
    events.onmessage = refreshSoon;
    events.onerror = () => {
      // A node without the stream answers 404, which closes it for good; a node that went
      // away is retried by the browser, and polling covers the gap either way.
      if (events.readyState === EventSource.CLOSED) events.close();
      startPolling("no event stream: polling /status every 2 s");
    };
  }

  document.getElementById("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search(document.getElementById("search").value);
  });
  window.addEventListener("hashchange", () => {
    // The query (and what was said of it) belonged to the page being left.
    say("");
    document.getElementById("search").value = "";
    window.scrollTo(0, 0);
    render(false);
  });
  // The chart is drawn for the width it is shown at: a new width (a phone turned) redraws it.
  let width = window.innerWidth;
  window.addEventListener("resize", () => {
    if (Math.abs(window.innerWidth - width) < 40) return;
    width = window.innerWidth;
    refreshSoon();
  });
  render(false);
  startEvents();
})();
