#!/usr/bin/env python3
"""Generate deterministic, documentation-like HTML pages for change-monitor benchmarks.

Adapted (unchanged page model, trimmed CLI) from the side-by-side benchmark of
urlwatch / webchanges / changedetection.io written for this project before capwatch
existed (its `gen_pages.py`); see bench/README.md.

Every page is a pure function of (seed, index, main_version, chrome_version):

  * main_version   - bumped by `mutate`; changes the content inside <main>
                     (status/region banner, a paragraph, a table cell, a new section).
  * chrome_version - bumped by `mutate --chrome-fraction`; changes only what is
                     OUTSIDE <main> (build id in the footer scripts, a nav badge),
                     i.e. noise that a `main`-filtered monitor must NOT report.

State lives in DIR/manifest.json.  Only files whose bytes change are rewritten, so
unchanged pages keep their mtime (which the server exposes as Last-Modified).

Usage:
  gen_pages.py generate --dir data/pages --n 500 --seed 1
  gen_pages.py mutate   --dir data/pages --fraction 0.10 [--chrome-fraction 0.0]
  gen_pages.py urls     --dir data/pages --base http://127.0.0.1:PORT
"""
import argparse
import hashlib
import html
import json
import os
import random
import sys

PAGE_NAME = "page-{:05d}.html"

REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2",
           "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1", "ap-northeast-1",
           "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "ap-south-1", "ca-central-1",
           "sa-east-1", "me-south-1", "af-south-1"]
STATUSES = ["in beta", "in preview", "in limited preview", "generally available"]
NOUNS = ["campaign", "ad group", "advertiser", "profile", "portfolio", "keyword", "product ad",
         "budget", "bid", "targeting clause", "report", "snapshot", "audience", "creative",
         "placement", "ASIN", "marketplace", "entity", "request", "response", "endpoint",
         "access token", "refresh token", "rate limit", "attribution tag", "conversion",
         "impression", "click", "negative keyword", "bidding strategy", "schedule",
         "line item", "order", "deal", "segment", "metric", "dimension", "time zone"]
VERBS = ["returns", "creates", "updates", "archives", "retrieves", "lists", "validates",
         "filters", "aggregates", "applies", "overrides", "schedules", "requires",
         "supports", "deprecates", "exports", "references", "associates", "limits"]
ADJS = ["sponsored", "daily", "lifetime", "optional", "required", "asynchronous", "paginated",
        "regional", "default", "maximum", "minimum", "enabled", "paused", "archived",
        "eligible", "custom", "dynamic", "manual", "automatic", "legacy", "new"]
CONNECT = ["When", "If", "After", "Before", "Unless", "Because", "Although", "Once"]
TYPES = ["String", "Integer", "Long", "Boolean", "Number", "Array of strings", "Object",
         "Enum", "Timestamp (ISO 8601)", "Array of objects"]
PRODUCTS = ["Sponsored Products", "Sponsored Brands", "Sponsored Display", "Amazon DSP",
            "Amazon Marketing Cloud", "Amazon Attribution", "Stores", "Posts", "Reporting",
            "Audiences", "Measurement", "Billing", "Account Management", "Test Accounts"]


def rng_for(seed, *parts):
    h = hashlib.sha256(("%s|" % seed + "|".join(str(p) for p in parts)).encode()).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


def word(r):
    return r.choice(NOUNS)


def sentence(r):
    kind = r.randrange(5)
    n1, n2, v, a = word(r), word(r), r.choice(VERBS), r.choice(ADJS)
    if kind == 0:
        s = f"The {a} {n1} {v} the {n2} for the specified {word(r)}"
    elif kind == 1:
        s = f"{r.choice(CONNECT)} a {n1} is {a}, the API {v} each {n2} in the {word(r)}"
    elif kind == 2:
        s = f"Use the <code>{n1.replace(' ', '')}Id</code> parameter to identify the {n2} that the operation {v}"
    elif kind == 3:
        s = f"You can have up to {r.choice([10, 25, 50, 100, 250, 1000, 5000])} {n1}s per {n2}"
    else:
        s = f"This {a} {n1} {v} {r.randrange(2, 40)} {n2}s within {r.choice([24, 48, 72, 90])} hours"
    return s[0].upper() + s[1:] + "."


def paragraph(r, lo=3, hi=8):
    return " ".join(sentence(r) for _ in range(r.randint(lo, hi)))


def camel(r):
    a, b = word(r).split(" ")[0], word(r).split(" ")[-1]
    return a.lower() + b[:1].upper() + b[1:]


# ----------------------------------------------------------------------------- chrome

def head(title, r, chrome_version):
    css_rules = []
    for i in range(80):
        css_rules.append(".awsdocs-c%03d{margin:%dpx %dpx;padding:%dpx;color:#%06x;font-size:%d.%dpx}"
                         % (i, r.randrange(20), r.randrange(20), r.randrange(16), r.randrange(1 << 24),
                            r.randrange(10, 20), r.randrange(10)))
    links = "\n".join(
        f'<link rel="stylesheet" href="/assets/css/{h}.css">'
        for h in (hashlib.md5(f"{title}{i}".encode()).hexdigest()[:12] for i in range(6)))
    ld = json.dumps({"@context": "https://schema.org", "@type": "TechArticle", "headline": title,
                     "inLanguage": "en-US", "publisher": {"@type": "Organization", "name": "Example Ads"}})
    return f"""<!DOCTYPE html>
<html lang="en-US" class="awsdocs-root" data-build="{chrome_version}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} - Example Ads API</title>
<meta name="description" content="{html.escape(paragraph(r, 1, 2))}">
<meta name="guide-name" content="Advertising API Guide">
{links}
<script type="application/ld+json">{ld}</script>
<style>{"".join(css_rules)}</style>
</head>
"""


def top_nav(r, chrome_version):
    items = []
    for i, p in enumerate(PRODUCTS * 3):
        items.append(f'<li class="nav-item"><a href="/{p.lower().replace(" ", "-")}/{i}/" '
                     f'data-metric="topnav-{i}">{html.escape(p)}</a></li>')
    badge = f'<span class="whats-new-badge">What\'s new ({3 + chrome_version})</span>'
    return f"""<header id="awsdocs-header" role="banner">
<div class="logo"><a href="/">Example Ads <span>Docs</span></a></div>
<form class="search" action="/search"><input type="search" name="q" placeholder="Search docs"><button>Search</button></form>
<nav aria-label="Products"><ul class="top-nav">{"".join(items)}</ul></nav>
{badge}
<div class="lang-select"><select><option>English</option><option>Deutsch</option><option>Español</option><option>Français</option><option>日本語</option><option>中文 (简体)</option></select></div>
</header>
"""


def sidebar(r, index):
    out = ['<aside id="left-column" class="awsdocs-toc"><nav aria-label="Table of contents"><ul>']
    for g in range(r.randint(8, 14)):
        out.append(f'<li class="toc-group"><a href="/guide/{g}/">{html.escape(r.choice(PRODUCTS))} '
                   f'{html.escape(word(r))}s</a><ul>')
        for k in range(r.randint(5, 10)):
            target = r.randrange(100000)
            cls = ' class="active"' if target % 97 == index % 97 else ""
            out.append(f'<li{cls}><a href="/guide/{g}/{target:05d}.html">{html.escape(r.choice(ADJS).title())} '
                       f'{html.escape(word(r))} {html.escape(r.choice(VERBS))}</a></li>')
        out.append("</ul></li>")
    out.append("</ul></nav></aside>\n")
    return "".join(out)


def footer(r, chrome_version):
    links = " | ".join(f'<a href="/legal/{i}">{t}</a>' for i, t in enumerate(
        ["Privacy", "Site terms", "Cookie preferences", "Accessibility", "Contact", "Feedback"]))
    js_chunks = []
    for i in range(r.randint(2, 4)):
        body = ";".join(f"var _{i}_{j}=function(a,b){{return a&&b?a[{j % 7}]+b:'{hashlib.md5(str(i * 1000 + j).encode()).hexdigest()}'}}"
                        for j in range(r.randint(40, 70)))
        js_chunks.append(f"<script>/* chunk {i} */{body};</script>")
    build = hashlib.sha1(f"build-{chrome_version}".encode()).hexdigest()
    return f"""<footer id="awsdocs-footer">
<div class="footer-links">{links}</div>
<p class="copyright">&copy; 2024-2026, Example Ads, Inc. or its affiliates. All rights reserved.</p>
</footer>
<script src="/assets/js/vendor.{build[:10]}.js" defer></script>
<script src="/assets/js/app.{build[10:20]}.js" defer></script>
<script>window.__DOCS_BUILD__="{build}";window.__PAGE_LOAD_TS__=Date.now();</script>
{"".join(js_chunks)}
</body>
</html>
"""


# ----------------------------------------------------------------------------- main content

def base_main(seed, index):
    """Return a structured (mutable) model of the <main> content for version 0."""
    r = rng_for(seed, "main", index)
    product = r.choice(PRODUCTS)
    title = f"{product}: {r.choice(VERBS)[:-1].title()} {word(r)}s"
    regions = sorted(r.sample(REGIONS, r.randint(2, 6)), key=REGIONS.index)
    model = {
        "title": title,
        "product": product,
        "status": r.choice(STATUSES),
        "regions": regions,
        "intro": paragraph(r, 3, 6),
        "sections": [],
        "target_kb": r.randint(60, 120),
    }
    return model, r


def new_section(r, idx):
    sec = {"h": f"{r.choice(ADJS).title()} {word(r)} {r.choice(VERBS)}", "blocks": []}
    for b in range(r.randint(2, 5)):
        kind = r.random()
        if kind < 0.55:
            sec["blocks"].append({"t": "p", "text": paragraph(r)})
        elif kind < 0.75:
            rows = []
            for _ in range(r.randint(4, 12)):
                rows.append([camel(r), r.choice(TYPES), r.choice(["Yes", "No"]), paragraph(r, 1, 2)])
            sec["blocks"].append({"t": "table", "rows": rows})
        elif kind < 0.88:
            sec["blocks"].append({"t": "ul", "items": [sentence(r) for _ in range(r.randint(3, 7))]})
        else:
            fields = ",\n".join(f'    "{camel(r)}": "{r.choice(ADJS)}"' for _ in range(r.randint(4, 10)))
            sec["blocks"].append({"t": "code", "text": "POST /v3/%ss/list HTTP/1.1\nContent-Type: application/json\n\n{\n%s\n}"
                                  % (word(r).replace(" ", ""), fields)})
    return sec


def render_main(model):
    out = ['<main id="main-content" role="main">\n<div id="main-col-body">']
    out.append('<div class="breadcrumbs"><a href="/">Docs</a> &gt; <a href="/guide/">Advertising API</a> &gt; '
               f'{html.escape(model["product"])}</div>')
    out.append(f'<h1 class="topictitle">{html.escape(model["title"])}</h1>')
    out.append('<div class="awsdocs-note awsdocs-important"><div class="awsdocs-note-title">Note</div>'
               f'<div class="awsdocs-note-text"><p>This feature is {model["status"]} and is available in the '
               f'following regions: {", ".join(model["regions"])}. Features in beta or preview are subject to change.</p>'
               '</div></div>')
    out.append(f'<p>{model["intro"]}</p>')
    for i, sec in enumerate(model["sections"]):
        out.append(f'<h2 id="sec-{i}">{html.escape(sec["h"])}</h2>')
        for blk in sec["blocks"]:
            if blk["t"] == "p":
                out.append(f'<p>{blk["text"]}</p>')
            elif blk["t"] == "ul":
                out.append("<ul>" + "".join(f"<li>{it}</li>" for it in blk["items"]) + "</ul>")
            elif blk["t"] == "code":
                out.append(f'<pre class="programlisting"><code class="json">{html.escape(blk["text"])}</code></pre>')
            else:
                rows = "".join(f"<tr><td><code>{a}</code></td><td>{b}</td><td>{c}</td><td>{d}</td></tr>"
                               for a, b, c, d in blk["rows"])
                out.append('<div class="table-container"><table><thead><tr><th>Name</th><th>Type</th>'
                           f'<th>Required</th><th>Description</th></tr></thead><tbody>{rows}</tbody></table></div>')
    out.append('<div class="awsdocs-page-utilities">Did this page help you? <button>Yes</button> <button>No</button></div>')
    out.append("</div>\n</main>\n")
    return "\n".join(out)


def apply_mutation(seed, index, version, model):
    """Deterministically change the main content (version >= 1)."""
    r = rng_for(seed, "mut", index, version)
    kinds = r.sample(["status", "paragraph", "table", "section", "regions"], r.randint(1, 2))
    for k in kinds:
        if k == "status":
            model["status"] = r.choice([s for s in STATUSES if s != model["status"]])
        elif k == "regions":
            extra = [x for x in REGIONS if x not in model["regions"]]
            if extra:
                model["regions"] = sorted(model["regions"] + [r.choice(extra)], key=REGIONS.index)
        elif k == "paragraph":
            paras = [b for s in model["sections"] for b in s["blocks"] if b["t"] == "p"]
            if paras:
                b = r.choice(paras)
                sents = b["text"].split(". ")
                sents[r.randrange(len(sents))] = sentence(r).rstrip(".")
                b["text"] = ". ".join(sents)
        elif k == "table":
            tables = [b for s in model["sections"] for b in s["blocks"] if b["t"] == "table"]
            if tables:
                t = r.choice(tables)
                row = t["rows"][r.randrange(len(t["rows"]))]
                row[2] = "No" if row[2] == "Yes" else "Yes"
                row[3] = paragraph(r, 1, 2)
            else:
                model["intro"] += " " + sentence(r)
        else:  # section
            model["sections"].append(new_section(r, len(model["sections"])))


def render_page(seed, index, main_version, chrome_version):
    model, r = base_main(seed, index)
    cr = rng_for(seed, "chrome", index)  # chrome layout is per page, fixed
    pre = head(model["title"], cr, chrome_version) + '<body class="awsdocs">\n' + top_nav(cr, chrome_version) \
        + '<div id="main-wrapper">\n' + sidebar(cr, index)
    post = "</div>\n" + footer(cr, chrome_version)
    # grow version-0 sections until the page reaches its target size
    target = model["target_kb"] * 1024
    while len(model["sections"]) < 3 or len(pre) + len(post) + len(render_main(model).encode()) < target:
        model["sections"].append(new_section(r, len(model["sections"])))
    for v in range(1, main_version + 1):
        apply_mutation(seed, index, v, model)
    return pre + render_main(model) + post


# ----------------------------------------------------------------------------- CLI

def manifest_path(d):
    return os.path.join(d, "manifest.json")


def load_manifest(d):
    with open(manifest_path(d)) as f:
        return json.load(f)


def save_manifest(d, m):
    tmp = manifest_path(d) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(m, f, indent=1)
    os.replace(tmp, manifest_path(d))


def write_if_changed(path, text):
    data = text.encode("utf-8")
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return False
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)  # atomic: the server never sees a half-written page
    return True


def generate(d, n, seed=1):
    """Write version 0 of pages 0..n-1 into `d` (only files whose bytes differ)."""
    os.makedirs(d, exist_ok=True)
    m = {"seed": seed, "n": n, "round": 0, "pages": [[0, 0] for _ in range(n)], "last_mutated": []}
    written = 0
    sizes = []
    for i in range(n):
        text = render_page(seed, i, 0, 0)
        sizes.append(len(text.encode()))
        written += write_if_changed(os.path.join(d, PAGE_NAME.format(i)), text)
    # drop pages from an earlier, larger generation
    for fn in os.listdir(d):
        if fn.startswith("page-") and fn.endswith(".html") and int(fn[5:10]) >= n:
            os.remove(os.path.join(d, fn))
    save_manifest(d, m)
    return {"generated": n, "rewritten": written, "min_kb": round(min(sizes) / 1024, 1),
            "max_kb": round(max(sizes) / 1024, 1), "mean_kb": round(sum(sizes) / len(sizes) / 1024, 1)}


def mutate(d, fraction=0.10, chrome_fraction=0.0):
    """Change <main> of `fraction` of the pages (deterministic per round)."""
    m = load_manifest(d)
    m["round"] += 1
    n = m["n"]
    r = rng_for(m["seed"], "select", m["round"])
    k_main = round(n * fraction)
    chosen = sorted(r.sample(range(n), k_main))
    chosen_set = set(chosen)
    rest = [i for i in range(n) if i not in chosen_set]
    chrome = sorted(r.sample(rest, round(n * chrome_fraction))) if chrome_fraction > 0 else []
    for i in chosen:
        m["pages"][i][0] += 1
    for i in chrome:
        m["pages"][i][1] += 1
    for i in sorted(chosen_set | set(chrome)):
        mv, cv = m["pages"][i]
        write_if_changed(os.path.join(d, PAGE_NAME.format(i)), render_page(m["seed"], i, mv, cv))
    m["last_mutated"] = chosen
    m["last_chrome_only"] = chrome
    save_manifest(d, m)
    return {"round": m["round"], "main_changed": len(chosen), "chrome_only_changed": len(chrome),
            "main_changed_pages": [PAGE_NAME.format(i) for i in chosen]}


def product(seed, index):
    """The product name page `index` is about (its H1 starts with it)."""
    return base_main(seed, index)[0]["product"]


def cmd_generate(a):
    print(json.dumps(generate(a.dir, a.n, a.seed)))


def cmd_mutate(a):
    print(json.dumps(mutate(a.dir, a.fraction, a.chrome_fraction)))


def cmd_urls(a):
    m = load_manifest(a.dir)
    for i in range(m["n"]):
        print(f"{a.base.rstrip('/')}/docs/{PAGE_NAME.format(i)}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--dir", required=True)
    g.add_argument("--n", type=int, required=True)
    g.add_argument("--seed", type=int, default=1)
    g.set_defaults(fn=cmd_generate)
    mu = sub.add_parser("mutate")
    mu.add_argument("--dir", required=True)
    mu.add_argument("--fraction", type=float, default=0.10, help="fraction of pages whose <main> changes")
    mu.add_argument("--chrome-fraction", type=float, default=0.0,
                    help="fraction of the other pages whose non-<main> chrome changes (noise)")
    mu.set_defaults(fn=cmd_mutate)
    u = sub.add_parser("urls")
    u.add_argument("--dir", required=True)
    u.add_argument("--base", required=True)
    u.set_defaults(fn=cmd_urls)
    a = p.parse_args(argv)
    a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
