"use strict";
(async function () {
  const main = document.getElementById("main");
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };
  const add = (parent, ...children) => { children.forEach((child) => child && parent.appendChild(child)); return parent; };
  let doc;
  try {
    const reply = await fetch("docs/openapi.json", { headers: { accept: "application/json" } });
    if (!reply.ok) throw new Error("HTTP " + reply.status);
    doc = await reply.json();
  } catch (error) {
    main.replaceChildren(el("p", "err", "Cannot load docs/openapi.json: " + error.message));
    return;
  }
  const schemas = (doc.components && doc.components.schemas) || {};
  const responses = (doc.components && doc.components.responses) || {};
  const refName = (ref) => ref.split("/").pop();

  // A schema as an indented outline: `name?: type  // description`.
  function outline(schema, indent, seen) {
    if (!schema) return "any";
    if (schema.$ref) {
      const name = refName(schema.$ref);
      if (seen.includes(name)) return name;
      return outline(schemas[name], indent, seen.concat(name));
    }
    const pad = "  ".repeat(indent + 1);
    for (const key of ["oneOf", "anyOf"]) {
      if (schema[key]) return schema[key].map((s) => outline(s, indent, seen)).join("\n" + "  ".repeat(indent) + "| ");
    }
    if (schema.allOf) {
      const merged = { type: "object", properties: {}, required: [] };
      for (const part of schema.allOf) {
        const resolved = part.$ref ? schemas[refName(part.$ref)] || {} : part;
        Object.assign(merged.properties, resolved.properties || {});
        merged.required = merged.required.concat(resolved.required || []);
      }
      return outline(merged, indent, seen);
    }
    const types = [].concat(schema.type || (schema.properties ? "object" : "any"));
    const nullable = types.includes("null") ? " | null" : "";
    const type = types.filter((t) => t !== "null")[0];
    if (!type) return "null";
    if (type === "object" && schema.properties) {
      const required = schema.required || [];
      const lines = Object.entries(schema.properties).map(([name, prop]) => {
        const note = prop.description ? "  // " + prop.description.replace(/\s+/g, " ") : "";
        return pad + name + (required.includes(name) ? "" : "?") + ": " + outline(prop, indent + 1, seen) + note;
      });
      return "{\n" + lines.join("\n") + "\n" + "  ".repeat(indent) + "}" + nullable;
    }
    if (type === "array") return outline(schema.items, indent, seen) + "[]" + nullable;
    if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    return type + (schema.format ? " (" + schema.format + ")" : "") + nullable;
  }

  function paragraphs(text) {
    const box = el("div");
    (text || "").split(/\n\s*\n/).forEach((part) => { if (part.trim()) box.appendChild(el("p", null, part.trim())); });
    return box;
  }

  function table(head, rows) {
    const t = el("table");
    add(t, add(el("tr"), ...head.map((h) => el("th", null, h))));
    rows.forEach((row) => add(t, add(el("tr"), ...row.map((cell) => (cell instanceof Node ? add(el("td"), cell) : el("td", null, cell))))));
    return t;
  }

  const info = doc.info || {};
  const intro = (info.description || "").split("\n## Error codes")[0];
  const page = [add(el("h1"), document.createTextNode(info.title || "API")), el("p", "muted", "OpenAPI " + doc.openapi + " · version " + (info.version || "")), paragraphs(intro)];
  page.push(add(el("p"), document.createTextNode("The machine-readable document: "), Object.assign(el("a", null, "openapi.json"), { href: "docs/openapi.json" })));

  const schemes = (doc.components && doc.components.securitySchemes) || {};
  page.push(el("h2", null, "Authentication"));
  page.push(table(["scheme", "kind", "description"], Object.entries(schemes).map(([name, s]) => [
    el("code", null, name),
    s.type === "http" ? "HTTP " + s.scheme + (s.bearerFormat ? " (" + s.bearerFormat + ")" : "") : s.type + " in " + s.in + ": " + s.name,
    s.description || "",
  ])));

  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of ["get", "post", "put", "delete", "patch"]) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method: method.toUpperCase(), op });
    }
  }
  const tagInfo = new Map((doc.tags || []).map((t) => [t.name, t.description]));
  for (const [tag, ops] of byTag) {
    page.push(el("h2", null, tag + (tagInfo.get(tag) ? " · " + tagInfo.get(tag) : "")));
    for (const { path, method, op } of ops) {
      const details = el("details", "op");
      const summary = add(el("summary"), el("span", "method " + method, method), el("span", "path", path), el("span", "opid", op.operationId || ""), el("span", null, op.summary || ""));
      if (op["x-cex-policy"]) summary.appendChild(el("span", "policy", op["x-cex-policy"]));
      const body = add(el("div"), paragraphs(op.description));
      if (op.security) {
        body.appendChild(el("p", null, "Security (any one line): " + op.security.map((req) => Object.keys(req).join(" + ")).join("  |  ")));
      }
      if (op.parameters && op.parameters.length) {
        body.appendChild(el("h4", null, "Parameters"));
        body.appendChild(table(["name", "in", "type", "description"], op.parameters.map((p) => [
          el("code", null, p.name + (p.required ? "" : "?")), p.in, outline(p.schema, 0, []), p.description || "",
        ])));
      }
      if (op.requestBody) {
        const content = op.requestBody.content || {};
        for (const [type, media] of Object.entries(content)) {
          body.appendChild(el("h4", null, "Request body (" + type + ")" + (op.requestBody.required ? "" : ", optional")));
          body.appendChild(el("pre", null, outline(media.schema, 0, [])));
        }
      }
      body.appendChild(el("h4", null, "Responses"));
      const rows = Object.entries(op.responses || {}).map(([status, response]) => {
        const resolved = response.$ref ? responses[refName(response.$ref)] || {} : response;
        const media = Object.entries(resolved.content || {})[0];
        const shape = media ? el("pre", null, media[0] + "\n" + outline(media[1].schema, 0, [])) : "";
        return [status, resolved.description || "", shape];
      });
      body.appendChild(table(["status", "description", "body"], rows));
      add(details, summary, body);
      page.push(details);
    }
  }

  const codes = doc["x-error-codes"] || [];
  if (codes.length) {
    page.push(el("h2", null, "Error codes"));
    page.push(el("p", null, "Every failure answers {\"code\": <int>, \"msg\": \"…\"} with this HTTP status. Codes never change meaning."));
    page.push(table(["code", "status", "meaning"], codes.map((c) => [String(c.code), String(c.status), c.msg])));
  }
  main.replaceChildren(...page);
})();
