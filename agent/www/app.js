/* 万企 county workbench: the pages, in plain JavaScript (no library, nothing fetched
   from the internet). Every form is generated from the field table the agent serves
   at /api/fields (common/record.c), and every record is checked by the agent with the
   same validator as `wanqi-agent record`; the checks here only help while typing. */
"use strict";

const W = { fields: null, byType: {}, session: null };

/* ---- small helpers ------------------------------------------------------------ */

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    e.appendChild(typeof k === "string" || typeof k === "number" ? document.createTextNode(String(k)) : k);
  }
  return e;
}

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin" });
  if (r.status === 401) { location.href = "/login"; throw new Error("请先登录"); }
  const j = await r.json();
  if (!r.ok && !j) throw new Error(url + ": " + r.status);
  return j;
}

async function post(url, params) {
  const r = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "X-CSRF-Token": W.session.csrf, "Content-Type": "application/x-www-form-urlencoded" },
    body: params.toString(),
  });
  return { status: r.status, body: await r.json() };
}

function main() { return document.getElementById("main"); }
function show(...nodes) { const m = main(); m.replaceChildren(...nodes.flat(Infinity).filter(x => x)); }
function typeMeta(t) { return W.byType[t]; }
function fieldMeta(t, name) { return (typeMeta(t) || { fields: [] }).fields.find(f => f.name === name); }
function typeLabel(t) { return typeMeta(t) ? typeMeta(t).label : t; }

function enumLabel(type, field, value) {
  const f = fieldMeta(type, field);
  const c = f && f.choices.find(x => x.value === value);
  return c ? c.label : value;
}

function valueText(type, f, v) {
  if (v === undefined || v === null || v === "") return "";
  if (f.kind === "enum") return enumLabel(type, f.name, v);
  if (f.kind === "bool") return v ? "是" : "否";
  if (f.kind === "list") return v.join("、");
  if (f.kind === "type") return typeLabel(v);
  return String(v);
}

function utf8len(s) { return new TextEncoder().encode(s).length; }

function cut(s, n) { s = s || ""; return s.length > n ? s.slice(0, n) + "…" : s; }

/* One line that says what a record is, for pickers and lists. */
function summary(rec) {
  switch (rec.type) {
    case "enterprise": return rec.name;
    case "visit": return enumLabel("visit", "method", rec.method) + "：" + cut(rec.findings || (rec.cadres || []).join("、"), 30);
    case "problem": return enumLabel("problem", "category", rec.category) + "：" + cut(rec.description, 30);
    case "plan": return "期限 " + rec.deadline + "：" + cut(rec.measures, 30);
    case "progress": return enumLabel("progress", "status", rec.status) + (rec.note ? "：" + cut(rec.note, 30) : "");
    case "service": return enumLabel("service", "kind", rec.kind) + "：" + cut(rec.content, 30);
    case "consultation": return cut(rec.question, 36);
    case "answer": return cut(rec.answer, 36);
    case "classification": return enumLabel("classification", "class", rec.class) + "：" + cut(rec.reason, 30);
    default: return cut(rec.reason, 36);
  }
}

/* GB 32100-2015: 18 characters of 0-9 A-Y without I O S V Z; the last is a check
   character (weights 3^i mod 31). Mirrors common/creditcode.c; the agent decides. */
const CC_ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY";
function creditCheck(code) {
  if (code.length !== 18) return "应为 18 位，现在是 " + code.length + " 位";
  let sum = 0, w = 1;
  for (let i = 0; i < 17; i++) {
    const k = CC_ALPHA.indexOf(code[i]);
    if (k < 0) return "第 " + (i + 1) + " 位“" + code[i] + "”不是代码允许的字符（不用 I、O、S、V、Z，字母大写）";
    sum += k * w; w = (w * 3) % 31;
  }
  if (CC_ALPHA.indexOf(code[17]) < 0) return "第 18 位“" + code[17] + "”不是代码允许的字符";
  const want = CC_ALPHA[(31 - (sum % 31)) % 31];
  if (code[17] !== want) return "校验位不对：按前 17 位，第 18 位应为“" + want + "”，多半是输错了一位，请核对营业执照";
  return "";
}

/* ---- sync state, on every page -------------------------------------------------- */

async function refreshSync() {
  const el = document.getElementById("sync");
  try {
    const s = await getJSON("/api/sync");
    el.textContent = "发送状态：" + s.text;
    el.className = "sync noprint " + (s.ok ? "ok" : "wait");
  } catch (e) {
    el.textContent = "无法连接本机工作台程序（wanqi-agent serve 是否在运行？）";
    el.className = "sync noprint wait";
  }
}

/* ---- 问题台账: the problem ledger ---------------------------------------------------- */

const LEDGER = { sort: "deadline", dir: 1, rows: [], today: "" };

function daysText(p) {
  if (p.done) return h("span", { class: "done" }, enumLabel("progress", "status", p.status));
  if (p.days_left === null) return h("span", { class: "muted" }, "未定期限");
  if (p.days_left < 0) return h("span", { class: "late" }, "逾期 " + (-p.days_left) + " 天");
  if (p.days_left === 0) return h("span", { class: "soon" }, "今天到期");
  return h("span", { class: p.days_left <= 7 ? "soon" : "" }, "剩 " + p.days_left + " 天");
}

function drawLedger() {
  const st = document.getElementById("flt-status").value;
  const q = document.getElementById("flt-q").value.trim();
  let rows = LEDGER.rows.filter(p =>
    (st === "" || (st === "overdue" ? p.overdue : st === "undone" ? !p.done : p.status === st)) &&
    (q === "" || (p.name || "").includes(q) || p.ent.startsWith(q) || p.description.includes(q)));
  const key = LEDGER.sort, dir = LEDGER.dir;
  const val = p => key === "days_left" ? (p.days_left === null ? 1e9 : p.days_left)
    : key === "deadline" ? (p.deadline || "9999") : (p[key] || "");
  rows.sort((a, b) => (val(a) < val(b) ? -dir : val(a) > val(b) ? dir : 0));
  const head = [["name", "企业"], ["description", "问题"], ["category", "类别"], ["severity", "严重程度"],
    ["date", "发现日期"], ["status", "状态"], ["deadline", "整改期限"], ["days_left", "剩余 / 逾期"]];
  const table = h("table", { id: "ledger" },
    h("thead", {}, h("tr", {}, head.map(([k, t]) => h("th", {
      class: "sort", "data-key": k,
      onclick: () => { LEDGER.dir = LEDGER.sort === k ? -LEDGER.dir : 1; LEDGER.sort = k; drawLedger(); },
    }, t)))),
    h("tbody", {}, rows.map(p => h("tr", { "data-id": p.id, class: p.overdue ? "overdue" : "" },
      h("td", {}, h("a", { href: "#/book/" + p.ent }, p.name || p.ent)),
      h("td", {}, cut(p.description, 40), h("div", { class: "id" }, p.id)),
      h("td", {}, enumLabel("problem", "category", p.category)),
      h("td", {}, enumLabel("problem", "severity", p.severity)),
      h("td", {}, p.date),
      h("td", {}, enumLabel("progress", "status", p.status)),
      h("td", {}, p.deadline || "—"),
      h("td", {}, daysText(p))))));
  document.getElementById("ledger-box").replaceChildren(
    h("p", { class: "muted" }, "共 " + rows.length + " 个问题（全县 " + LEDGER.rows.length + " 个，其中逾期 " +
      LEDGER.rows.filter(p => p.overdue).length + " 个；按 " + LEDGER.today + " 计）"), table);
}

async function pageLedger() {
  const j = await getJSON("/api/ledger");
  LEDGER.rows = j.problems; LEDGER.today = j.today;
  const statuses = fieldMeta("progress", "status").choices;
  show(h("h1", {}, "问题台账"),
    h("div", { class: "filters noprint" },
      h("label", {}, "状态 ", h("select", { id: "flt-status", onchange: drawLedger },
        h("option", { value: "" }, "全部"), h("option", { value: "undone" }, "未完成"),
        h("option", { value: "overdue" }, "已逾期"),
        statuses.map(s => h("option", { value: s.value }, s.label)))),
      h("label", {}, "查找 ", h("input", { type: "text", id: "flt-q", placeholder: "企业名称、代码或问题", oninput: drawLedger }))),
    h("div", { id: "ledger-box" }));
  drawLedger();
}

/* ---- 一企一册: the case book --------------------------------------------------------- */

function recFields(type, rec, skip) {
  const t = typeMeta(type);
  const dl = h("dl", { class: "kv body" });
  for (const f of t.fields) {
    if (skip.includes(f.name)) continue;
    const v = valueText(type, f, rec[f.name]);
    if (v === "") continue;
    dl.append(h("dt", {}, f.label), h("dd", {}, f.kind === "event" ? h("span", { class: "id" }, v) : v));
  }
  return dl;
}

function recBox(item, skip, extraHead) {
  const rec = item.rec;
  const fixes = item.corrections.map(c => h("div", { class: "fix" },
    "已更正（" + c.date + "，" + (c.reason || "") + "）：" +
    Object.entries(c.set).filter(([k]) => k !== "type").map(([k, v]) => {
      const f = fieldMeta(rec.type, k); return (f ? f.label : k) + " → " + (f ? valueText(rec.type, f, v) : v);
    }).join("；"), h("span", { class: "id" }, " " + c.id)));
  return h("div", { class: "rec" + (item.retracted ? " retracted" : ""), "data-id": item.id },
    h("div", { class: "head" }, h("span", { class: "what" }, rec.date + " " + typeLabel(rec.type)),
      extraHead || null,
      item.retracted ? h("span", { class: "tag red" }, "已撤销") : null,
      item.corrections.length ? h("span", { class: "tag amber" }, "已更正") : null,
      h("span", { class: "tag " + (item.state === "queued" ? "amber" : "green") },
        item.state === "queued" ? "待发送" : "已送达"),
      h("span", { class: "id" }, " " + item.id)),
    recFields(rec.type, rec, skip), fixes);
}

async function pageBook(ent) {
  const r = await fetch("/api/casebook?ent=" + encodeURIComponent(ent));
  const j = await r.json();
  if (!r.ok) { show(h("h1", {}, "一企一册"), h("div", { class: "box bad" }, j.error || "读取失败")); return; }
  const recs = j.records, of = t => recs.filter(x => x.rec.type === t);
  const kids = id => recs.filter(x => x.rec.problem === id || x.rec.consultation === id);
  const p = j.profile;
  const nodes = [h("h1", {}, "一企一册：" + (p ? p.name : ent)),
    h("p", { class: "noprint" }, h("button", { onclick: () => window.print() }, "打印（A4）"),
      h("a", { href: "#/new/visit?ent=" + ent }, "记录走访"), " · ",
      h("a", { href: "#/new/problem?ent=" + ent }, "记录问题"), " · ",
      h("a", { href: "#/new/service?ent=" + ent }, "记录服务")),
    h("h2", {}, "企业档案")];
  if (p) {
    const t = typeMeta("enterprise");
    const dl = h("dl", { class: "kv", id: "profile" }, h("dt", {}, "统一社会信用代码"), h("dd", {}, ent));
    for (const f of t.fields) {
      if (["ent", "date", "by"].includes(f.name)) continue;
      const v = valueText("enterprise", f, p[f.name]);
      if (v !== "") dl.append(h("dt", {}, f.label), h("dd", {}, v));
    }
    dl.append(h("dt", {}, "档案日期"), h("dd", {}, p.date));
    nodes.push(dl);
  } else nodes.push(h("p", { class: "muted" }, "本机没有这家企业的档案记录（" + ent + "）"));
  const cls = of("classification");
  nodes.push(h("h2", {}, "分类监管"), cls.length ? cls.map(x => recBox(x, ["ent", "date"])) : h("p", { class: "muted" }, "未分类"));
  nodes.push(h("h2", {}, "把脉问诊：走访"), of("visit").map(x => recBox(x, ["ent", "date"])));
  nodes.push(h("h2", {}, "问题与整改"));
  for (const pr of of("problem")) {
    const sub = kids(pr.id);
    nodes.push(recBox(pr, ["ent", "date"]),
      h("div", { class: "sub" }, sub.map(x => recBox(x, ["ent", "date", "problem"])),
        h("a", { class: "noprint", href: "#/new/plan?ent=" + ent + "&problem=" + pr.id }, "制定整改方案"), " · ",
        h("a", { class: "noprint", href: "#/new/progress?ent=" + ent + "&problem=" + pr.id }, "记录整改进展")));
  }
  nodes.push(h("h2", {}, "服务（五送）"), of("service").map(x => recBox(x, ["ent", "date"])));
  nodes.push(h("h2", {}, "企业咨询与答复"));
  for (const c of of("consultation"))
    nodes.push(recBox(c, ["ent", "date"]), h("div", { class: "sub" }, kids(c.id).map(x => recBox(x, ["ent", "date", "consultation"]))));
  const mods = recs.filter(x => x.rec.type === "correction" || x.rec.type === "retraction");
  if (mods.length) nodes.push(h("h2", {}, "更正与撤销"), mods.map(x => recBox(x, ["ent", "date"])));
  show(h("div", { id: "book" }, nodes));
}

async function pageBooks() {
  const box = h("div", { id: "ents" });
  async function find() {
    const q = document.getElementById("book-q").value.trim();
    const list = await getJSON("/api/enterprises?q=" + encodeURIComponent(q));
    box.replaceChildren(list.length ? h("table", {}, h("tr", {}, h("th", {}, "企业"), h("th", {}, "统一社会信用代码"), h("th", {}, "行业")),
      list.map(e => h("tr", {}, h("td", {}, h("a", { href: "#/book/" + e.ent }, e.name || "（无档案）")), h("td", {}, e.ent), h("td", {}, e.industry || ""))))
      : h("p", { class: "muted" }, "没有找到"));
  }
  show(h("h1", {}, "一企一册"), h("div", { class: "filters" },
    h("input", { type: "text", id: "book-q", placeholder: "输入企业名称或信用代码查找", oninput: find })), box);
  await find();
}

/* ---- 待答复咨询 ------------------------------------------------------------------------ */

async function pageConsultations() {
  const list = await getJSON("/api/consultations");
  show(h("h1", {}, "待答复的企业咨询"),
    list.length ? h("table", { id: "open-consultations" },
      h("tr", {}, h("th", {}, "日期"), h("th", {}, "企业"), h("th", {}, "渠道"), h("th", {}, "问题"), h("th", {}, "")),
      list.map(c => h("tr", { "data-id": c.id }, h("td", {}, c.rec.date),
        h("td", {}, h("a", { href: "#/book/" + c.rec.ent }, c.name || c.rec.ent)),
        h("td", {}, enumLabel("consultation", "channel", c.rec.channel)), h("td", {}, c.rec.question),
        h("td", {}, h("a", { href: "#/new/answer?ent=" + c.rec.ent + "&consultation=" + c.id }, "答复")))))
      : h("p", { class: "muted" }, "没有待答复的咨询。"));
}

/* ---- 录入: forms generated from the field table ---------------------------------------- */

const PICK = { visit: "visit", problem: "problem", consultation: "consultation" };

function inputFor(type, f, prefix) {
  const name = (prefix || "") + f.name;
  const id = "f-" + name.replace(".", "-");
  let input;
  if (f.kind === "enum") {
    input = h("select", { id, name }, h("option", { value: "" }, f.required ? "请选择" : "（不填）"),
      f.choices.map(c => h("option", { value: c.value }, c.label)));
  } else if (f.kind === "bool") {
    input = h("select", { id, name }, h("option", { value: "" }, "（不填）"), h("option", { value: "true" }, "是"), h("option", { value: "false" }, "否"));
  } else if (f.kind === "event" && !prefix) {
    input = h("select", { id, name, "data-pick": f.name }, h("option", { value: "" }, "（请先选择企业）"));
  } else if (f.multiline) {
    input = h("textarea", { id, name });
  } else {
    input = h("input", { type: "text", id, name, autocomplete: "off" });
  }
  let hint = "";
  if (f.kind === "date") hint = "格式 2019-05-06";
  else if (f.kind === "list") hint = "多人用逗号分隔";
  else if (f.kind === "industry") hint = "国民经济行业分类，如 C 或 C3110";
  else if (f.kind === "text" && f.max) hint = "最多 " + f.max + " 字节（约 " + Math.floor(f.max / 3) + " 个汉字）";
  if (f.kind === "text" && f.max) input.addEventListener("input", () => {
    const n = utf8len(input.value);
    setErr(name, n > f.max ? "太长了：" + n + " 字节，最多 " + f.max + " 字节" : "");
  });
  return h("div", { class: "field", "data-field": name },
    h("label", { class: "f", for: id }, f.label, f.required ? h("span", { class: "req" }, "*") : null, h("span", { class: "hint" }, hint)),
    input, h("div", { class: "err", id: "e-" + name.replace(".", "-") }));
}

function setErr(name, text) {
  const e = document.getElementById("e-" + name.replace(".", "-"));
  const i = document.getElementById("f-" + name.replace(".", "-"));
  if (e) { e.textContent = text; e.className = "err"; }
  if (i) i.classList.toggle("invalid", !!text);
  return !!e;
}

function entPicker(preset, onPick) {
  const sel = h("select", { id: "f-ent", name: "ent" }, h("option", { value: "" }, "请选择企业"));
  const qin = h("input", { type: "text", id: "ent-q", autocomplete: "off", placeholder: "输入企业名称或信用代码的开头" });
  async function find() {
    const q = qin.value.trim();
    const list = await getJSON("/api/enterprises?q=" + encodeURIComponent(q));
    const keep = sel.value || preset;
    sel.replaceChildren(h("option", { value: "" }, list.length ? "请选择企业（" + list.length + " 家）" : "没有找到，请先登记企业"),
      ...list.map(e => h("option", { value: e.ent }, (e.name || "（无档案）") + "  " + e.ent)));
    if (keep && list.some(e => e.ent === keep)) sel.value = keep;
    onPick(sel.value);
  }
  sel.addEventListener("change", () => onPick(sel.value));
  const div = h("div", { class: "field", "data-field": "ent" },
    h("label", { class: "f", for: "ent-q" }, "企业", h("span", { class: "req" }, "*"), h("span", { class: "hint" }, "输入名称或信用代码查找")),
    qin, sel, h("div", { class: "err", id: "e-ent" }));
  qin.addEventListener("input", find);
  return { div, find };
}

async function fillPickers(form, type, ent, preset) {
  const f = form.querySelector("#f-ent");
  if (f && ent) { const e = form.querySelector("#e-ent"); if (e) e.textContent = ""; }
  for (const sel of form.querySelectorAll("select[data-pick]")) {
    const what = sel.getAttribute("data-pick");
    const rtype = PICK[what] || "";
    const keep = sel.value || preset[what] || "";
    if (!ent) { sel.replaceChildren(h("option", { value: "" }, "（请先选择企业）")); continue; }
    const list = await getJSON("/api/records?ent=" + encodeURIComponent(ent) + "&type=" + rtype);
    sel.replaceChildren(h("option", { value: "" }, list.length ? "请选择" : "这家企业还没有可选的记录"),
      ...list.map(r => h("option", { value: r.id, "data-type": r.type }, r.date + " " + typeLabel(r.type) + "：" + summary(r.rec))));
    if (keep && list.some(r => r.id === keep)) sel.value = keep;
    sel.dispatchEvent(new Event("change"));
  }
}

function typeChooser(current) {
  return h("div", { class: "types noprint" }, W.fields.filter(t => t.type !== "answer").map(t =>
    h("a", { href: "#/new/" + t.type, class: t.type === current ? "on" : "", id: "new-" + t.type }, t.label)),
    h("a", { href: "#/new/answer", class: current === "answer" ? "on" : "", id: "new-answer" }, "咨询答复"));
}

async function pageNew(type, params) {
  if (!type || !typeMeta(type)) { show(h("h1", {}, "录入"), h("p", {}, "选择要录入的记录："), typeChooser("")); return; }
  const t = typeMeta(type);
  const form = h("form", { id: "form", "data-type": type, autocomplete: "off" });
  const result = h("div", { id: "result" });
  const preset = Object.fromEntries(params.entries());
  const patchBox = h("div", { id: "patch" });
  if (type === "enterprise") {
    for (const f of t.fields) form.append(inputFor(type, f));
    const cc = form.querySelector("#f-ent");
    cc.addEventListener("input", () => {
      cc.value = cc.value.toUpperCase().replace(/\s/g, "");
      const why = cc.value.length < 18 ? "" : creditCheck(cc.value);
      setErr("ent", why);
      cc.classList.toggle("valid", cc.value.length === 18 && !why);
      if (cc.value.length === 18 && !why) getJSON("/api/creditcode?code=" + encodeURIComponent(cc.value)).then(j => {
        if (!j.ok) setErr("ent", j.zh + "（" + j.text + "）");
        else { const e = document.getElementById("e-ent"); e.textContent = "代码校验通过"; e.className = "okmsg"; }
      });
    });
  } else {
    const picker = entPicker(preset.ent || "", ent => fillPickers(form, type, ent, preset));
    form.append(picker.div);
    for (const f of t.fields) {
      if (f.name === "ent" || f.name === "set" || f.name === "of") continue;
      form.append(inputFor(type, f));
    }
    if (type === "correction") {
      form.append(h("input", { type: "hidden", name: "of", id: "f-of" }), patchBox);
      form.querySelector("#f-target").addEventListener("change", ev => {
        const opt = ev.target.selectedOptions[0];
        const of = opt ? opt.getAttribute("data-type") : "";
        form.querySelector("#f-of").value = of || "";
        patchBox.replaceChildren();
        if (!of) return;
        patchBox.append(h("h3", {}, "更正后的内容（只填要改的项）"));
        for (const f of typeMeta(of).fields) if (f.patchable) patchBox.append(inputFor(of, f, "set."));
        const orig = ev.target.selectedOptions[0].textContent;
        patchBox.append(h("p", { class: "muted" }, "原记录：" + orig));
      });
    }
    setTimeout(picker.find, 0);
  }
  form.append(h("button", { type: "submit", id: "save" }, "保存"));
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    await submitForm(form, type, result, false);
  });
  show(h("h1", {}, "录入：" + t.label), typeChooser(type),
    h("p", { class: "muted" }, "带 * 的为必填项。保存前本机会按与命令行相同的规则检查。"), form, result);
  for (const [k, v] of Object.entries(preset)) {
    const el = document.getElementById("f-" + k);
    if (el && el.tagName !== "SELECT") el.value = v;
  }
}

async function submitForm(form, type, result, repeat) {
  for (const e of form.querySelectorAll(".err")) { e.textContent = ""; e.className = "err"; }
  for (const e of form.querySelectorAll(".invalid")) e.classList.remove("invalid");
  const p = new URLSearchParams();
  p.set("type", type);
  for (const el of form.elements) if (el.name && el.value.trim() !== "") p.append(el.name, el.value.trim());
  if (repeat) p.set("_repeat", "1");
  result.replaceChildren(h("p", { class: "muted" }, "正在保存…"));
  const { status, body } = await post("/api/record", p);
  if (body.ok) {
    result.replaceChildren(h("div", { class: "box ok", id: "saved", "data-id": body.id },
      h("strong", {}, "已保存。"), "记录编号 ", h("span", { class: "id" }, body.id),
      "。已安全写入本机磁盘，断电也不会丢失；联网后自动送达省平台。",
      h("div", {}, form.querySelector("#f-ent") ? h("a", { href: "#/book/" + form.querySelector("#f-ent").value }, "查看这家企业的一企一册") : null)));
    refreshSync();
    return;
  }
  if (body.duplicate) {
    result.replaceChildren(h("div", { class: "box dup", id: "duplicate", "data-id": body.duplicate },
      "这条记录已于 " + body.recorded + " 记录过（编号 ", h("span", { class: "id" }, body.duplicate), "），没有重复保存。",
      h("div", {}, h("button", { type: "button", class: "second", onclick: () => submitForm(form, type, result, true) }, "确实是另一件事，仍要保存"))));
    return;
  }
  const lost = [];
  for (const e of body.errors || []) {
    // The validator's own sentence when it is in Chinese (the zh_CN catalog), else
    // the short Chinese sentence for its code with the detail after it.
    const text = /[\u4e00-\u9fff]/.test(e.text || "") ? e.text : e.zh + (e.text ? "（" + e.text + "）" : "");
    if (!setErr(e.field, text)) lost.push(e.field + "：" + text);
  }
  result.replaceChildren(h("div", { class: "box bad", id: "rejected" },
    body.errors ? "没有保存：请按红字修改后再保存。" : "没有保存：" + (body.error || status), lost.map(x => h("div", {}, x))));
  const first = form.querySelector(".invalid");
  if (first) first.focus();
}

/* ---- 导入 ---------------------------------------------------------------------------- */

const OUTCOME = { good: "可导入", stored: "已导入", duplicate: "已记录过，跳过", bad: "有误", note: "提示" };

function importReport(j) {
  const head = ["工作表", "行", "结果", "记录类型", "编号", "字段", "说明"];
  const q = v => '"' + String(v === null || v === undefined ? "" : v).replace(/"/g, '""') + '"';
  const lines = [head.map(q).join(",")].concat(j.rows.map(r => [r.sheet || "", r.line, OUTCOME[r.outcome] || r.outcome,
    r.type ? typeLabel(r.type) : "", r.id || "", r.field ? ((fieldMeta(r.type, r.field) || {}).label || r.field) : "",
    r.message || (r.same_as ? "与第 " + r.same_as + " 行相同" : "")].map(q).join(",")));
  // A BOM so that Excel and WPS open the UTF-8 report in Chinese.
  return new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
}

function drawImport(j, file, box) {
  const sum = j.stored
    ? "已导入 " + j.good + " 行；" + j.duplicates + " 行已记录过，跳过；" + j.bad + " 行有误，未导入。已安全写入本机磁盘。"
    : "共 " + j.lines + " 行：" + j.good + " 行可导入，" + j.duplicates + " 行已记录过（不会重复导入），" + j.bad + " 行有误。";
  const rows = j.rows.map(r => h("tr", { class: r.outcome === "bad" ? "bad" : r.outcome === "duplicate" ? "dup" : "", "data-outcome": r.outcome },
    h("td", {}, (r.sheet ? r.sheet + " " : "") + "第 " + r.line + " 行"), h("td", {}, OUTCOME[r.outcome] || r.outcome),
    h("td", {}, r.type ? typeLabel(r.type) : ""), h("td", {}, r.id ? h("span", { class: "id" }, r.id) : ""),
    h("td", {}, r.message || (r.same_as ? "与第 " + r.same_as + " 行相同" : ""))));
  const url = URL.createObjectURL(importReport(j));
  box.replaceChildren(...[
    h("div", { class: "box " + (j.bad ? "bad" : "ok"), id: j.stored ? "import-done" : "import-preview" }, sum),
    j.error ? h("div", { class: "box bad" }, j.error) : null,
    h("table", { class: "preview", id: "import-rows" }, h("tr", {}, ["位置", "结果", "记录类型", "编号", "说明"].map(t => h("th", {}, t))), rows),
    !j.stored && j.good > 0 ? h("button", { type: "button", id: "import-good", onclick: () => sendImport(file, "store", box) }, "导入无误的行（" + j.good + " 行）") : null,
    h("a", { href: url, download: "导入报告-" + file.name.replace(/\.[^.]*$/, "") + ".csv", id: "import-report" }, "下载报告（CSV）"),
  ].filter(x => x));
}

async function sendImport(file, mode, box) {
  const fd = new FormData();
  fd.append("mode", mode);
  fd.append("file", file, file.name);
  box.replaceChildren(h("p", { class: "muted" }, mode === "store" ? "正在导入…" : "正在检查…"));
  const r = await fetch("/api/import", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": W.session.csrf }, body: fd });
  const j = await r.json();
  if (!j.rows) { box.replaceChildren(h("div", { class: "box bad", id: "import-error" }, j.error || "导入失败")); return; }
  drawImport(j, file, box);
  refreshSync();
}

function pageImport() {
  const box = h("div", { id: "import-result" });
  const input = h("input", { type: "file", id: "import-file", accept: ".csv,.xlsx,.txt,.jsonl" });
  show(h("h1", {}, "导入"),
    h("p", {}, "选择用模板填好的 Excel（.xlsx）或 CSV 文件（WPS、Excel 另存的 GBK 或 UTF-8 都可以）。先检查每一行，再导入无误的行；已经记录过的行不会重复导入。",
      "模板：wanqi-agent template。"),
    h("div", { class: "filters" }, input, h("button", { type: "button", id: "import-check", onclick: () => {
      if (input.files.length) sendImport(input.files[0], "preview", box);
    } }, "检查")), box);
}

/* ---- routing ---------------------------------------------------------------------------- */

async function route() {
  const hash = location.hash || "#/ledger";
  const [path, query] = hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean);
  const params = new URLSearchParams(query || "");
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("on", a.id === "nav-" + (parts[0] === "book" ? "books" : parts[0]));
  try {
    if (parts[0] === "book" && parts[1]) await pageBook(decodeURIComponent(parts[1]));
    else if (parts[0] === "books") await pageBooks();
    else if (parts[0] === "consultations") await pageConsultations();
    else if (parts[0] === "new") await pageNew(parts[1], params);
    else if (parts[0] === "import") pageImport();
    else await pageLedger();
    document.body.setAttribute("data-page", parts[0] || "ledger");
  } catch (e) {
    show(h("div", { class: "box bad" }, "页面出错：" + e.message));
  }
  refreshSync();
}

async function start() {
  W.session = await getJSON("/api/session");
  W.fields = await getJSON("/api/fields");
  for (const t of W.fields) W.byType[t.type] = t;
  document.getElementById("who").textContent = W.session.agent + " · " + W.session.county +
    (W.session.user ? " · " + W.session.user : "");
  if (W.session.user) {
    document.querySelector("header.top nav").append(h("a", { href: "#", id: "logout", onclick: async ev => {
      ev.preventDefault();
      await fetch("/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": W.session.csrf } });
      location.href = "/login";
    } }, "退出登录"));
  }
  window.addEventListener("hashchange", route);
  setInterval(refreshSync, 10000);
  await route();
}

document.addEventListener("DOMContentLoaded", start);
