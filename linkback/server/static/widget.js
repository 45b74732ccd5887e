/*
 * linkback "Links to this post" widget.
 *
 *   <script src="https://LINKBACK/widget.js" async></script>
 *
 * Options (attributes of that script tag):
 *   data-target="URL"      the page whose mentions to show; default: the page's <link rel=canonical>,
 *                          else its address without the fragment; "//host/path" means http and https
 *   data-backlinks="1"     also list links to the page that the linkback index found
 *   data-container="#id"   render into this element instead of right after the script tag
 *   data-heading="..."     heading text (default "Links to this post")
 *   data-css="0"           do not add widget.css (style .lb-* yourself)
 *
 * Safety: everything shown comes from other people's pages. This script never parses markup:
 * it builds elements with createElement, sets text with textContent and attributes with
 * setAttribute, puts only http(s) URLs (checked again here with the URL parser) in href/src,
 * and shows a reply's content as text (content.text), not as HTML, so its safety does not
 * depend on any sanitiser. Links carry rel="nofollow ugc noopener". No third-party assets;
 * requests go to the linkback server only, without cookies.
 *
 * A post without links shows "Create a link" (as Blogger does): the post's link as HTML to copy
 * (a textarea's value: text, never parsed here) and a form where a reader sends the URL of their
 * own post. The form posts to the linkback server (a Webmention, verified like any other); this
 * script sends it with fetch and shows the answer's message as text.
 */
(function () {
  "use strict";

  var REL = "nofollow ugc noopener";
  var PAGE = 100;
  var MAX_PAGES = 5;
  var GROUPS = [
    ["like", "Likes"],
    ["repost", "Reposts"],
    ["bookmark", "Bookmarks"],
    ["reply", "Replies"],
    ["rsvp", "RSVPs"],
    ["mention", "Mentions"],
  ];
  var TYPE_OF_PROPERTY = {
    "like-of": "like",
    "repost-of": "repost",
    "bookmark-of": "bookmark",
    "in-reply-to": "reply",
    rsvp: "rsvp",
    "mention-of": "mention",
  };
  var FACES = { like: true, repost: true, bookmark: true };

  var FORM_PATH = "/webmention/form";
  var made = 0;

  var script = document.currentScript;
  if (!script) {
    var candidates = document.querySelectorAll('script[src*="widget.js"]:not([data-lb-started])');
    script = candidates[candidates.length - 1];
  }
  if (!script || script.hasAttribute("data-lb-started")) return;
  script.setAttribute("data-lb-started", "");

  var self = new URL(script.src, document.baseURI);
  var base = self.origin + self.pathname.replace(/\/widget\.js$/, "");

  function str(value) {
    return typeof value === "string" ? value : "";
  }

  /* An absolute http(s) URL, normalised by the URL parser, or "". */
  function safeHref(value) {
    var u;
    if (!str(value)) return "";
    try {
      u = new URL(value);
    } catch (e) {
      return "";
    }
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : "";
  }

  function cut(text, limit) {
    var chars = Array.from(str(text).trim());
    if (chars.length <= limit) return chars.join("");
    var head = chars.slice(0, limit - 1).join("");
    var space = head.lastIndexOf(" ");
    if (space > limit / 2) head = head.slice(0, space);
    return head.replace(/\s+$/, "") + "\u2026";
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /* A link if href is http(s), else a span with the same text. */
  function link(href, text, cls) {
    var safe = safeHref(href);
    var node = el(safe ? "a" : "span", cls, text);
    if (safe) {
      node.setAttribute("href", safe);
      node.setAttribute("rel", REL);
    }
    return node;
  }

  function hostOf(url) {
    var safe = safeHref(url);
    return safe ? new URL(safe).hostname.replace(/^www\./, "") : "";
  }

  function authorLabel(entry) {
    var author = entry.author || {};
    return (
      cut(str(author.name), 100) || hostOf(author.url) || hostOf(entry.url) || hostOf(entry["wm-source"]) || "someone"
    );
  }

  function initial(label) {
    var first = Array.from(label.trim())[0] || "?";
    var span = el("span", "lb-initial", first.toUpperCase());
    span.setAttribute("aria-hidden", "true");
    return span;
  }

  function avatar(entry, label) {
    var photo = safeHref((entry.author || {}).photo);
    if (!photo) return initial(label);
    var img = el("img", "lb-photo");
    img.setAttribute("src", photo);
    img.setAttribute("alt", label);
    img.setAttribute("width", "32");
    img.setAttribute("height", "32");
    img.setAttribute("loading", "lazy");
    img.setAttribute("referrerpolicy", "no-referrer");
    img.addEventListener("error", function () {
      if (img.parentNode) img.parentNode.replaceChild(initial(label), img);
    });
    return img;
  }

  function date(iso, href) {
    var when = new Date(str(iso));
    if (!str(iso) || isNaN(when.getTime())) return null;
    var time = el("time", null, when.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }));
    time.setAttribute("datetime", when.toISOString());
    var wrap = link(href, "", "lb-date");
    wrap.appendChild(time);
    return wrap;
  }

  function heading(title, count) {
    var h = el("h3", "lb-group-heading", title + " ");
    h.appendChild(el("span", "lb-count", count));
    return h;
  }

  function face(entry) {
    var label = authorLabel(entry);
    var li = el("li", "lb-item lb-face");
    var target = safeHref((entry.author || {}).url) || safeHref(entry.url);
    var a = link(target, null, "lb-face-link");
    a.setAttribute("title", label);
    a.appendChild(avatar(entry, label));
    li.appendChild(a);
    return li;
  }

  function reply(entry) {
    var label = authorLabel(entry);
    var li = el("li", "lb-item lb-reply");
    var meta = el("div", "lb-meta");
    meta.appendChild(avatar(entry, label));
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(link((entry.author || {}).url, label, "lb-author"));
    var when = date(entry.published || entry["wm-received"], entry.url);
    if (when) {
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(when);
    }
    li.appendChild(meta);
    var content = entry.content || {};
    var text = cut(str(content.text) || str(entry.summary) || str(entry.name), 600);
    var body = el("div", "lb-content");
    if (text) body.appendChild(el("p", null, text));
    li.appendChild(body);
    return li;
  }

  function other(entry, kind) {
    var label = authorLabel(entry);
    var li = el("li", "lb-item lb-" + (kind === "rsvp" ? "rsvp" : "mention"));
    li.appendChild(avatar(entry, label));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(link((entry.author || {}).url, label, "lb-author"));
    if (kind === "rsvp") {
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", "lb-rsvp-value", cut(str(entry.rsvp), 20) || "RSVP"));
    } else {
      li.appendChild(document.createTextNode(": "));
      li.appendChild(link(entry.url, cut(str(entry.name), 200) || hostOf(entry.url) || "a page", "lb-title"));
    }
    var when = date(entry.published || entry["wm-received"], entry.url);
    if (when) {
      li.appendChild(document.createTextNode(" "));
      li.appendChild(when);
    }
    return li;
  }

  function backlink(item) {
    var li = el("li", "lb-item lb-backlink");
    var host = hostOf(item.source_url);
    li.appendChild(link(item.source_url, cut(str(item.anchor), 200) || host, "lb-title"));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "lb-host", host));
    var when = date(item.first_seen, null);
    if (when) {
      li.appendChild(document.createTextNode(" "));
      li.appendChild(when);
    }
    return li;
  }

  /* Text as HTML source: what a reader copies into their own post. */
  function escapeHTML(text) {
    return str(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" }[c];
    });
  }

  function labelled(tag, cls, id, text) {
    var label = el("label", "lb-label", text);
    label.setAttribute("for", id);
    var control = el(tag, cls);
    control.id = id;
    return [label, control];
  }

  /* The "Create a link" prompt of a post without links: info is /api/create-link's answer. */
  function createLink(info) {
    var url = safeHref(info.url);
    if (!url) return null;
    made += 1;
    var id = "lb-" + made + "-" + Math.random().toString(36).slice(2, 8);
    var box = el("div", "lb-create");
    box.appendChild(el("h3", "lb-group-heading", "Create a link"));
    box.appendChild(el("p", "lb-help", "Wrote about this post? Link to it from yours with this HTML:"));
    var copy = labelled("textarea", "lb-copy", id + "-html", "HTML of a link to this post");
    copy[1].setAttribute("rows", "3");
    copy[1].setAttribute("readonly", "");
    copy[1].setAttribute("spellcheck", "false");
    copy[1].value = '<a href="' + escapeHTML(url) + '">' + escapeHTML(cut(str(info.title), 200) || url) + "</a>";
    copy[1].addEventListener("focus", function () {
      copy[1].select();
    });
    box.appendChild(copy[0]);
    box.appendChild(copy[1]);
    if (str(info.form)) box.appendChild(linkForm(url, id));
    return box;
  }

  function linkForm(url, id) {
    var form = el("form", "lb-form");
    form.setAttribute("method", "post");
    form.setAttribute("action", base + FORM_PATH);
    var hidden = el("input");
    hidden.setAttribute("type", "hidden");
    hidden.setAttribute("name", "target");
    hidden.setAttribute("value", url);
    form.appendChild(hidden);
    var source = labelled("input", "lb-source", id + "-source", "Then send the URL of your post");
    var input = source[1];
    [["name", "source"], ["type", "url"], ["inputmode", "url"], ["autocomplete", "url"], ["required", ""],
     ["placeholder", "https://your-blog.example/post"]].forEach(function (pair) {
      input.setAttribute(pair[0], pair[1]);
    });
    var button = el("button", "lb-send", "Send link");
    button.setAttribute("type", "submit");
    var row = el("div", "lb-row");
    row.appendChild(input);
    row.appendChild(document.createTextNode(" "));
    row.appendChild(button);
    var status = el("p", "lb-status");
    status.setAttribute("role", "status");
    form.appendChild(source[0]);
    form.appendChild(row);
    form.appendChild(el("p", "lb-note", "Your post is checked for the link before it shows here."));
    form.appendChild(status);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = new URLSearchParams();
      body.append("source", input.value.trim());
      body.append("target", url);
      button.disabled = true;
      status.className = "lb-status";
      status.textContent = "Sending\u2026";
      fetch(base + FORM_PATH, {
        method: "POST",
        body: body,
        credentials: "omit",
        mode: "cors",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          return response.json().then(function (answer) {
            return { ok: response.ok, message: cut(str((answer || {}).message), 300) };
          });
        })
        .catch(function () {
          return { ok: false, message: "" };
        })
        .then(function (result) {
          status.className = "lb-status " + (result.ok ? "lb-ok" : "lb-error");
          status.textContent = result.message || (result.ok ? "Received." : "The link could not be sent: try again later.");
          if (result.ok) input.value = "";
          button.disabled = false;
        });
    });
    return form;
  }

  function render(root, title, entries, total, backlinks) {
    while (root.firstChild) root.removeChild(root.firstChild);
    root.appendChild(el("h2", "lb-heading", title));
    var byType = {};
    entries.forEach(function (entry) {
      var kind = TYPE_OF_PROPERTY[str(entry["wm-property"])] || "mention";
      (byType[kind] = byType[kind] || []).push(entry);
    });
    GROUPS.forEach(function (group) {
      var kind = group[0];
      var items = byType[kind];
      if (!items) return;
      var box = el("div", "lb-group lb-group-" + kind);
      box.appendChild(heading(group[1], items.length));
      var list = el(FACES[kind] ? "ul" : kind === "reply" ? "ol" : "ul", FACES[kind] ? "lb-faces" : kind === "reply" ? "lb-replies" : "lb-list");
      items.forEach(function (entry) {
        list.appendChild(FACES[kind] ? face(entry) : kind === "reply" ? reply(entry) : other(entry, kind));
      });
      box.appendChild(list);
      root.appendChild(box);
    });
    var seen = {};
    entries.forEach(function (entry) {
      seen[safeHref(entry["wm-source"])] = true;
      seen[safeHref(entry.url)] = true;
    });
    var fresh = backlinks.filter(function (item) {
      return safeHref(item.source_url) && !seen[safeHref(item.source_url)];
    });
    if (fresh.length) {
      var box = el("div", "lb-group lb-group-backlinks");
      box.appendChild(heading("Also linked from", fresh.length));
      var list = el("ul", "lb-list");
      fresh.forEach(function (item) {
        list.appendChild(backlink(item));
      });
      box.appendChild(list);
      root.appendChild(box);
    }
    if (!entries.length && !fresh.length) root.appendChild(el("p", "lb-empty", "No links to this post yet."));
    if (total > entries.length) root.appendChild(el("p", "lb-more", "and " + (total - entries.length) + " more"));
    return !entries.length && !fresh.length;
  }

  /* The prompt under an empty widget; without it (an error, an old server) the widget stays as it is. */
  function addPrompt(root, target) {
    return getJSON(base + "/api/create-link?target=" + encodeURIComponent(target)).then(
      function (info) {
        var box = createLink(info || {});
        if (box) root.appendChild(box);
      },
      function () {}
    );
  }

  function getJSON(url) {
    return fetch(url, { credentials: "omit", mode: "cors" }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status + " from " + url);
      return response.json();
    });
  }

  function mentionsOf(target) {
    var entries = [];
    function page(n) {
      var query = "target=" + encodeURIComponent(target) + "&sort-dir=up&per-page=" + PAGE + "&page=" + n;
      return getJSON(base + "/api/mentions?" + query).then(function (feed) {
        var children = Array.isArray(feed.children) ? feed.children : [];
        entries = entries.concat(children);
        var total = Number(feed.total) || 0;
        if (entries.length < total && children.length === PAGE && n + 1 < MAX_PAGES) return page(n + 1);
        return { entries: entries, total: Math.max(total, entries.length) };
      });
    }
    return page(0);
  }

  function backlinksOf(target) {
    return getJSON(base + "/api/backlinks?limit=20&target=" + encodeURIComponent(target)).then(
      function (answer) {
        return Array.isArray(answer.links) ? answer.links : [];
      },
      function () {
        return []; // a page outside the server's sites, or no index: mentions alone
      }
    );
  }

  function defaultTarget() {
    var canonical = document.querySelector('link[rel~="canonical"][href]');
    var href = (canonical && canonical.href) || location.href;
    return safeHref(href.split("#")[0]) || "";
  }

  function targetOf() {
    var given = str(script.getAttribute("data-target")).trim();
    if (!given) return defaultTarget();
    if (given.slice(0, 2) === "//") return given; // both schemes, as the API reads it
    try {
      return safeHref(new URL(given, document.baseURI).href.split("#")[0]);
    } catch (e) {
      return "";
    }
  }

  function container() {
    var selector = script.getAttribute("data-container");
    var root = null;
    if (selector) {
      try {
        root = document.querySelector(selector);
      } catch (e) {
        root = null;
      }
    }
    if (!root) {
      root = document.createElement("section");
      script.parentNode.insertBefore(root, script.nextSibling);
    }
    root.classList.add("lb-widget");
    return root;
  }

  function addStyles() {
    if (script.getAttribute("data-css") === "0" || document.querySelector("link[data-lb-css]")) return;
    var css = document.createElement("link");
    css.setAttribute("rel", "stylesheet");
    css.setAttribute("href", base + "/widget.css");
    css.setAttribute("data-lb-css", "");
    (document.head || document.documentElement).appendChild(css);
  }

  var target = targetOf();
  var root = container();
  if (!target) {
    root.setAttribute("data-lb-state", "error");
    return;
  }
  root.setAttribute("data-lb-state", "loading");
  addStyles();
  var title = str(script.getAttribute("data-heading")) || "Links to this post";
  var wantBacklinks = script.getAttribute("data-backlinks") === "1";
  Promise.all([mentionsOf(target), wantBacklinks ? backlinksOf(target) : Promise.resolve([])])
    .then(function (results) {
      var empty = render(root, title, results[0].entries, results[0].total, results[1]);
      return empty ? addPrompt(root, target) : null;
    })
    .then(function () {
      root.setAttribute("data-lb-state", "ready");
    })
    .catch(function (error) {
      root.setAttribute("data-lb-state", "error");
      if (window.console) console.warn("linkback widget:", error);
    });
})();
