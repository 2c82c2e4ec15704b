// shopbot demo page: draws the emulator's chats and sends what you do back as updates.
// Plain JavaScript on purpose: no build step between the repository and the page.
"use strict";

const state = {
  people: {},          // user id -> {id, name, lang, role}
  messages: new Map(), // keyOf(message) -> message as bot/demo.py renders it
  topics: [],
  keyboards: {},       // chat id -> rows of reply-keyboard labels
  commands: {},
  staffChat: null,
  shopper: null,       // the shopper whose chat is shown
  topic: null,         // the staff topic shown (null: General)
  followTopics: true,  // until staff pick a topic, the pane follows the latest activity
  unread: {},          // "shopper:<id>" or "topic:<id>" -> count
  blocked: {},
  sheet: null,         // the invoice being paid on the pay sheet: {user, message_id, busy}
  tab: "shopper",      // the pane shown at phone width, one at a time
};
let socket = null;

const $ = (selector) => document.querySelector(selector);
const byRole = (role) => Object.values(state.people).filter((p) => p.role === role);
const owner = () => byRole("owner")[0];
const staff = () => byRole("staff")[0];

function send(action) {
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    toast("Not connected to the demo; is `shopbot demo` still running?", true);
    return;
  }
  socket.send(JSON.stringify(action));
}

function toast(text, error = false) {
  const box = document.createElement("div");
  box.className = "toast" + (error ? " error" : "");
  box.textContent = text;
  $("#toasts").appendChild(box);
  setTimeout(() => box.remove(), error ? 6000 : 3500);
}

// -- which pane shows a message ------------------------------------------------------------

// A chat of the shop's own account (Telegram Business) has the shopper's chat id, as their
// chat with the bot has, and message ids of its own: its connection tells them apart.
const keyOf = (m) => (m.business ? m.business + "/" : "") + m.chat + ":" + m.id;
const keyboardKey = (chat, business) => (business ? "business:" + chat : String(chat));

function paneOf(message) {
  if (message.chat === state.staffChat) return "staff";
  const person = state.people[message.chat];
  if (!person) return null;
  if (message.business) return person.role === "shopper" ? "business" : null;
  return person.role === "owner" ? "owner" : "shopper";
}

function visible(message) {
  const pane = paneOf(message);
  if (pane === "shopper" || pane === "business") return message.chat === state.shopper;
  if (pane === "staff") return (message.thread || null) === state.topic;
  return pane === "owner";
}

function meOf(pane) {
  if (pane === "shopper" || pane === "business") return state.shopper;
  if (pane === "staff") return staff() && staff().id;
  return owner() && owner().id;
}

// -- drawing -------------------------------------------------------------------------------

function bubble(message, pane) {
  if (message.service) {
    const line = document.createElement("div");
    line.className = "service" + (message.note ? " demo-note" : "");
    const span = document.createElement("span");
    span.textContent = message.service;
    line.appendChild(span);
    return line;
  }
  const mine = message.sender_id === meOf(pane);
  // A message is its bubble and, as in Telegram, its inline keyboard attached below it.
  const row = document.createElement("div");
  row.className = "msg " + (mine ? "out" : "in");
  row.dataset.id = message.id;
  row.dataset.chat = message.chat;
  const box = document.createElement("div");
  box.className = "bubble";
  row.appendChild(box);
  // In a topic, what staff write goes to the customer, except notes ("!" or "/note").
  if (pane === "staff" && !message.from_bot && /^\s*(!|\/note\b)/.test(message.html || "")) {
    row.classList.add("note");
  }
  if (pane === "staff" || !mine) {
    const who = document.createElement("div");
    who.className = "sender";
    who.textContent = message.sender;
    if (message.via) {
      // Telegram shows the account; the demo also says the bot wrote it.
      const via = document.createElement("span");
      via.className = "via";
      via.textContent = "sent by the bot @" + message.via;
      who.appendChild(via);
    }
    box.appendChild(who);
  }
  if (message.forwarded) addLine(box, "forwarded", "Forwarded from " + message.forwarded);
  if (message.reply_to) addLine(box, "reply-to", message.reply_to);
  if (message.photo) {
    const img = document.createElement("img");
    img.className = "photo";
    img.src = message.photo;
    img.alt = "photo";
    img.addEventListener("load", () => {
      const chat = img.closest(".chat");
      if (chat && chat.dataset.stick) chat.scrollTop = chat.scrollHeight;
    });
    box.appendChild(img);
  }
  if (message.media) addLine(box, "media", message.media);
  const html = message.html ?? message.caption;
  if (html) {
    const text = document.createElement("div");
    text.className = "text";
    // The server renders Telegram's entities to HTML and escapes everything else.
    text.innerHTML = html;
    box.appendChild(text);
  }
  const meta = document.createElement("div");
  meta.className = "meta";
  // The server gives the time in the shop's time zone, as the bot's own texts show it
  // (the staff card's "Last messages"): one clock for the whole page, not the browser's.
  meta.textContent = (message.edited ? "edited " : "") + (message.time || "");
  box.appendChild(meta);
  if (message.invoice) box.appendChild(invoiceCard(message, pane));
  if (message.buttons) row.appendChild(keyboard(message, pane));
  if (mine && message.html) {
    box.title = "Double-click to edit";
    box.addEventListener("dblclick", () => {
      const plain = box.querySelector(".text").textContent;
      const text = prompt("Edit the message", plain);
      if (text !== null && text !== plain) {
        send({do: "edit", user: meOf(pane), message_id: message.id, text,
              business: pane === "business"});
      }
    });
  }
  return row;
}

function addLine(box, cls, text) {
  const line = document.createElement("div");
  line.className = cls;
  line.textContent = text;
  box.appendChild(line);
}

function keyboard(message, pane) {
  const wrap = document.createElement("div");
  wrap.className = "buttons";
  for (const row of message.buttons) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = button.text;
      if (button.url) {
        b.classList.add("url");
        b.addEventListener("click", () => toast("In Telegram this opens " + button.url));
      } else {
        b.addEventListener("click", () =>
          send({do: "press", user: meOf(pane), message_id: message.id, data: button.data,
                business: pane === "business"}));
      }
      line.appendChild(b);
    }
    wrap.appendChild(line);
  }
  return wrap;
}

// -- paying: the invoice card and the (simulated) pay sheet ---------------------------------

function invoiceCard(message, pane) {
  const invoice = message.invoice;
  const card = document.createElement("div");
  card.className = "invoice";
  const title = document.createElement("div");
  title.className = "invoice-title";
  title.textContent = invoice.title;
  const description = document.createElement("div");
  description.className = "invoice-description";
  description.textContent = invoice.description;
  const total = document.createElement("div");
  total.className = "invoice-total";
  total.textContent = invoice.total;
  const pay = document.createElement("button");
  pay.type = "button";
  pay.className = "pay";
  if (invoice.paid) {
    pay.textContent = "✓ Paid";
    pay.disabled = true;
  } else {
    pay.textContent = "Pay " + invoice.total;
    pay.addEventListener("click", () => openSheet(message, meOf(pane)));
  }
  card.append(title, description, total, pay);
  return card;
}

function openSheet(message, user) {
  const sheet = $("#pay-sheet");
  state.sheet = {user, message_id: message.id, busy: true};
  sheet.querySelector(".sheet-title").textContent = message.invoice.title;
  sheet.querySelector(".sheet-description").textContent = message.invoice.description;
  sheet.querySelector(".sheet-address").hidden = true;
  sheet.querySelector(".sheet-delivery").hidden = true;
  sheet.querySelector(".sheet-total span").textContent = message.invoice.total;
  $("#pay-country").value = "RU";
  sheet.hidden = false;
  quote();
}

function quote() {
  const sheet = state.sheet;
  if (!sheet) return;
  sheet.busy = true;
  sheetStatus("Asking the bot…");
  send({do: "quote", user: sheet.user, message_id: sheet.message_id, country: $("#pay-country").value});
}

function sheetStatus(text, error = false, payable = false) {
  const line = $("#pay-sheet .sheet-status");
  line.textContent = text;
  line.classList.toggle("error", error);
  $("#pay-sheet .sheet-pay").disabled = !payable;
}

function closeSheet() {
  state.sheet = null;
  $("#pay-sheet").hidden = true;
}

const forSheet = (event) => state.sheet && state.sheet.message_id === event.message_id;

function drawChat(pane, follow = false) {
  const chat = $("#" + pane + "-chat");
  const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 40;
  // Stay at the newest message, as Telegram does, also once late photos have loaded.
  chat.dataset.stick = atBottom || follow ? "1" : "";
  chat.replaceChildren();
  const shown = [...state.messages.values()]
    .filter((m) => paneOf(m) === pane && visible(m))
    .sort((a, b) => a.date - b.date || a.id - b.id);
  for (const message of shown) chat.appendChild(bubble(message, pane));
  if (pane === "shopper" && shown.length === 0 && state.shopper) {
    const empty = document.createElement("div");
    empty.className = "empty";
    empty.append("A new chat with the shop's bot.", document.createElement("br"));
    const start = document.createElement("button");
    start.type = "button";
    start.textContent = "START";
    start.addEventListener("click", () => send({do: "send", user: state.shopper, text: "/start"}));
    empty.appendChild(start);
    chat.appendChild(empty);
  }
  if (pane === "business" && shown.length === 0 && state.shopper) {
    const empty = document.createElement("div");
    empty.className = "empty";
    empty.textContent = (state.people[state.shopper] || {}).name +
      " has not written to the shop's account yet. Write below: the bot answers here as the shop.";
    chat.appendChild(empty);
  }
  if (chat.dataset.stick) chat.scrollTop = chat.scrollHeight;
  drawKeyboard(pane);
}

function drawKeyboard(pane) {
  const box = $("#" + pane + "-keyboard");
  if (!box) return;
  const rows = state.keyboards[keyboardKey(meOf(pane), pane === "business")];
  box.replaceChildren();
  box.classList.toggle("shown", Boolean(rows));
  for (const row of rows || []) {
    const line = document.createElement("div");
    line.className = "row";
    for (const label of row) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.addEventListener("click", () =>
        send({do: "send", user: meOf(pane), text: label, business: pane === "business"}));
      line.appendChild(b);
    }
    box.appendChild(line);
  }
}

function drawShoppers() {
  const select = $("#shopper");
  select.replaceChildren();
  for (const person of byRole("shopper")) {
    const option = document.createElement("option");
    option.value = person.id;
    const unread = state.unread["shopper:" + person.id];
    option.textContent = person.name + " · " + person.lang + (unread ? " (" + unread + " new)" : "");
    select.appendChild(option);
  }
  if (!state.people[state.shopper] && byRole("shopper").length) state.shopper = byRole("shopper")[0].id;
  select.value = state.shopper;
  const current = state.people[state.shopper];
  if (current) $("#shopper-lang").value = current.lang;
  $("#blocked").checked = Boolean(state.blocked[state.shopper]);
}

function drawTopics() {
  const bar = $("#topics");
  bar.replaceChildren();
  const entries = [{id: null, name: "General"}, ...state.topics];
  for (const topic of entries) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = (topic.closed ? "🔒 " : "# ") + topic.name;
    b.dataset.topic = topic.id ?? "";
    if (topic.id === state.topic) b.classList.add("current");
    const unread = state.unread["topic:" + topic.id];
    if (unread) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.textContent = unread;
      b.appendChild(badge);
    }
    b.addEventListener("click", () => {
      state.topic = topic.id;
      state.followTopics = false;
      delete state.unread["topic:" + topic.id];
      drawTopics();
      drawChat("staff", true);
    });
    bar.appendChild(b);
  }
}

function drawAll() {
  drawShoppers();
  drawTopics();
  for (const pane of ["shopper", "business", "staff", "owner"]) drawChat(pane);
}

// -- events from the server ----------------------------------------------------------------

function onMessage(message) {
  const key = keyOf(message);
  const isNew = !state.messages.has(key);
  state.messages.set(key, message);
  const pane = paneOf(message);
  if (!pane) return;
  if (pane === "staff" && isNew && state.followTopics && message.thread) {
    state.topic = message.thread;
    drawTopics();
  }
  if (isNew) markTab(pane);
  if (isNew && !visible(message)) {
    const toShopper = pane === "shopper" || pane === "business";
    const mark = toShopper ? "shopper:" + message.chat : "topic:" + message.thread;
    if (pane !== "owner") state.unread[mark] = (state.unread[mark] || 0) + 1;
    toShopper ? drawShoppers() : drawTopics();
    return;
  }
  drawChat(pane, isNew);
}

const handlers = {
  hello(event) {
    state.people = Object.fromEntries(event.people.map((p) => [p.id, p]));
    state.staffChat = event.staff_chat;
    state.topics = event.topics;
    state.keyboards = event.keyboards;
    state.commands = event.commands;
    state.messages = new Map(event.messages.map((m) => [keyOf(m), m]));
    if (!state.people[state.shopper]) state.shopper = (byRole("shopper")[0] || {}).id;
    drawAll();
  },
  people(event) {
    state.people = Object.fromEntries(event.people.map((p) => [p.id, p]));
    drawShoppers();
  },
  added(event) {
    state.shopper = event.person.id;
    drawShoppers();
    drawChat("shopper");
    drawChat("business");
  },
  message(event) { onMessage(event.message); },
  edit(event) { onMessage(event.message); },
  delete(event) {
    const message = state.messages.get(keyOf(event));
    state.messages.delete(keyOf(event));
    if (message && paneOf(message)) drawChat(paneOf(message));
  },
  keyboard(event) {
    state.keyboards[keyboardKey(event.chat, event.business)] = event.rows;
    const person = state.people[event.chat];
    if (person) drawKeyboard(event.business ? "business" : person.role === "owner" ? "owner" : "shopper");
  },
  topics(event) {
    state.topics = event.topics;
    if (state.topic !== null && !state.topics.some((t) => t.id === state.topic)) state.topic = null;
    drawTopics();
    drawChat("staff");
  },
  typing(event) {
    const pane = paneOf({chat: event.chat, business: event.business});
    if (!pane || ((pane === "shopper" || pane === "business") && event.chat !== state.shopper)) return;
    const line = $("#" + pane + "-typing");
    line.textContent = "the bot is typing…";
    clearTimeout(line.timer);
    line.timer = setTimeout(() => { line.textContent = ""; }, 2500);
  },
  toast(event) {
    const pane = paneOf({chat: event.chat});
    if (pane === "shopper" && event.chat !== state.shopper) return;
    if (event.alert) alert(event.text); else toast(event.text);
  },
  blocked(event) {
    state.blocked[event.user] = event.blocked;
    drawShoppers();
  },
  order(event) { toast("Order " + event.order + ": " + event.event + " sent to the bot's API"); },
  quote(event) {
    if (!forSheet(event)) return;
    state.sheet.busy = false;
    const sheet = $("#pay-sheet");
    const address = sheet.querySelector(".sheet-address");
    address.hidden = !event.address;
    if (event.address) {
      const a = event.address;
      sheet.querySelector(".sheet-street").textContent =
        [a.street_line1, a.city, a.post_code].filter(Boolean).join(", ");
    }
    const delivery = sheet.querySelector(".sheet-delivery");
    delivery.hidden = !event.delivery;
    if (event.delivery) {
      delivery.querySelector(".sheet-option").textContent = event.delivery.title;
      delivery.querySelector(".sheet-price").textContent = event.delivery.price;
    }
    sheet.querySelector(".sheet-total span").textContent = event.total;
    if (event.error) sheetStatus(event.error, true);
    else sheetStatus(event.delivery ? "The shop answered with its delivery for this address." : "", false, true);
  },
  pay_refused(event) {
    if (!forSheet(event)) return;
    state.sheet.busy = false;
    sheetStatus(event.error, true);
  },
  paid(event) {
    if (forSheet(event)) closeSheet();
    toast("Paid (simulated): no money moved.");
  },
  error(event) {
    toast(event.text, true);
    if (state.sheet && state.sheet.busy) {
      state.sheet.busy = false;
      sheetStatus(event.text, true);
    }
  },
};

function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  socket = new WebSocket(scheme + location.host + "/ws");
  socket.addEventListener("open", () => {
    $("#banner").classList.remove("offline");
    $("#link-state").textContent = "live";
  });
  socket.addEventListener("message", (frame) => {
    const event = JSON.parse(frame.data);
    (handlers[event.type] || (() => {}))(event);
  });
  socket.addEventListener("close", () => {
    $("#banner").classList.add("offline");
    $("#link-state").textContent = "disconnected: retrying…";
    setTimeout(connect, 2000);
  });
}

// -- phone width: one pane at a time, tabs to switch --------------------------------------

function markTab(pane) {
  if (pane !== state.tab) $("#tab-" + pane).classList.add("unread");
}

function showTab(pane) {
  state.tab = pane;
  document.querySelector("main").dataset.tab = pane;
  for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
    const current = tab.dataset.tab === pane;
    tab.setAttribute("aria-selected", String(current));
    if (current) tab.classList.remove("unread");
  }
  const chat = $("#" + pane + "-chat");
  // A pane that was hidden could not follow its chat: show the newest message.
  if (chat) chat.scrollTop = chat.scrollHeight;
}

for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
  tab.addEventListener("click", () => showTab(tab.dataset.tab));
}

// -- what you do on the page ---------------------------------------------------------------

for (const form of document.querySelectorAll("form.composer")) {
  const pane = form.dataset.pane;
  const input = form.elements.text;
  const payload = (extra) => {
    if (pane !== "business") return {do: "send", user: meOf(pane), thread: pane === "staff" ? state.topic : null, ...extra};
    // The shop's account: the shopper writes, or Olivia steps in in person.
    const inPerson = $("#business-writer").value === "owner";
    return {do: "send", business: true, user: inPerson ? owner().id : state.shopper, chat: state.shopper, ...extra};
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!input.value.trim()) return;
    send(payload({text: input.value}));
    input.value = "";
  });
  form.querySelector(".attach").addEventListener("click", () => {
    send(payload({photo: true, text: input.value}));
    input.value = "";
  });
}

$("#shopper-form .menu").addEventListener("click", () => {
  const box = $("#shopper-commands");
  const lang = (state.people[state.shopper] || {}).lang || "en";
  const code = lang.startsWith("zh") ? "zh" : lang;
  const list = state.commands[code] || state.commands.default || [];
  box.replaceChildren();
  for (const command of list) {
    const b = document.createElement("button");
    b.type = "button";
    const name = document.createElement("b");
    name.textContent = "/" + command.command;
    b.append(name, command.description);
    b.addEventListener("click", () => {
      box.hidden = true;
      send({do: "send", user: state.shopper, text: "/" + command.command});
    });
    box.appendChild(b);
  }
  box.hidden = !box.hidden;
});

$("#shopper").addEventListener("change", (e) => {
  state.shopper = Number(e.target.value);
  delete state.unread["shopper:" + state.shopper];
  drawShoppers();
  drawChat("shopper", true);
  drawChat("business", true);
});

$("#business-writer").addEventListener("change", (e) => {
  $("#business-form").elements.text.placeholder = e.target.value === "owner"
    ? "Write as Olivia, in person…" : "Write to the shop's account…";
});

$("#shopper-lang").addEventListener("change", (e) =>
  send({do: "language", user: state.shopper, lang: e.target.value}));

$("#new-shopper").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target;
  send({do: "shopper", name: form.elements.name.value, lang: form.elements.lang.value});
  form.elements.name.value = "";
});

for (const button of document.querySelectorAll("#order-form button")) {
  button.addEventListener("click", () => send({
    do: "order", user: state.shopper, event: button.dataset.event,
    order: $("#order-form").elements.order.value,
  }));
}

$("#blocked").addEventListener("change", (e) =>
  send({do: "block", user: state.shopper, blocked: e.target.checked}));

for (const button of document.querySelectorAll("#owner-pane .quick button")) {
  button.addEventListener("click", () => send({do: "send", user: owner().id, text: button.dataset.command}));
}

$("#pay-country").addEventListener("change", quote);
$("#pay-sheet .sheet-cancel").addEventListener("click", closeSheet);
$("#pay-sheet .sheet-pay").addEventListener("click", () => {
  const sheet = state.sheet;
  if (!sheet || sheet.busy) return;
  sheet.busy = true;
  sheetStatus("Paying…");
  send({do: "pay", user: sheet.user, message_id: sheet.message_id});
});

document.addEventListener("click", (e) => {
  const spoiler = e.target.closest("tg-spoiler, .tg-spoiler");
  if (spoiler) spoiler.classList.add("shown");
});

connect();
